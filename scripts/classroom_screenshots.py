"""Screenshots of the real classroom app for docs/classroom.md (headless Debian Chromium).

    .venv/bin/python scripts/classroom_screenshots.py [--out docs/img/classroom]

Starts ``python -m sim serve`` on a free port of 127.0.0.1 with a fresh database, plays a
small class on the flagship scenario (a lecturer on a projector-sized screen, six students
on phones, three of them recommending a policy), and saves each step as a small PNG
(256 colours). Look at every picture before committing it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from classroom_load import served  # the same server start as the load test
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PROJECTOR = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
STUDENTS = [("Amira", "0.9", "0.6", ""), ("Ben", "0.7", "0.3", "false"),
            ("Chloé", "0.95", "0.8", ""), ("Dmitri", "0.5", "0.2", "false"),
            ("Eva", "0.85", "0.5", "false"), ("Femi", "0.99", "0.9", "")]


def shot(page: Any, out: Path, name: str, full: bool = False) -> None:
    """Save the page (or the whole page) as a 256-colour PNG."""
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def play(browser: Any, url: str, lecturer_url: str, out: Path) -> None:
    lecturer = browser.new_context(viewport=PROJECTOR).new_page()
    lecturer.goto(url + lecturer_url)
    shot(lecturer, out, "01-lecturer-home")
    lecturer.get_by_label("Shipped scenario").select_option("atacms.yaml")
    lecturer.get_by_label("Title for the class (optional)").fill("Strategy 204: week 6")
    lecturer.get_by_role("button", name="Create session").click()
    for box in lecturer.locator("input[name=outcomes]").all():
        box.uncheck()
    for outcome in ("deep_strike", "nuclear_signalling", "nuclear_use", "aid_cut",
                    "ceasefire"):
        lecturer.locator(f"input[name=outcomes][value={outcome}]").check()
    for box in lecturer.locator("input[name=levers]").all():
        box.uncheck()
    lecturer.locator("input[name=levers][value=atacms_authorised]").check()
    lecturer.locator("input[name=levers][value=nk_troops]").check()
    lecturer.get_by_label("Runs per model").fill("2000")
    lecturer.get_by_role("button", name="Save questions").click()
    shot(lecturer, out, "02-join-code")
    code = lecturer.inner_text(".big-code").strip()

    pages = []
    for k, (name, strike, aid, lever) in enumerate(STUDENTS):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{url}/join?code={code}")
        page.get_by_label("Your name").fill(name)
        if k == 0:
            shot(page, out, "03-student-join")
        page.get_by_role("button", name="Join").click()
        fields = page.locator("input[name^=p_]").all()
        for i, field in enumerate(fields):
            field.fill([strike, "0.7", "0.04", aid, "0.1"][i])
        if lever:
            page.get_by_label("atacms_authorised (now on)").select_option(lever)
            page.get_by_label("Why, in one sentence").fill("Deep strikes invite answers.")
        if k == 0:
            shot(page, out, "04-student-forecast")
        page.get_by_role("button", name="Submit my forecast").click()
        pages.append(page)
    lecturer.reload()
    lecturer.get_by_role("button", name="Lock forecasts").click()
    lecturer.get_by_role("button", name="Run the model").click()
    page_url = lecturer.url.split("?")[0]
    while lecturer.request.get(page_url + "/progress").json()["done"] == 0:
        time.sleep(0.3)
    # The page refreshes itself every few seconds: load it afresh and shoot at once.
    lecturer.goto(page_url)
    lecturer.evaluate("document.getElementById('class-h').scrollIntoView()")
    shot(lecturer, out, "05-running")
    lecturer.wait_for_selector("text=Finished:", timeout=300_000)
    lecturer.get_by_role("button", name="Reveal").click()
    shot(lecturer, out, "06-reveal")
    lecturer.locator("#rank-h").scroll_into_view_if_needed()
    shot(lecturer, out, "07-reveal-scores")
    lecturer.locator("#pol-h").scroll_into_view_if_needed()
    shot(lecturer, out, "08-reveal-policies")
    pages[1].reload()
    shot(pages[1], out, "09-student-score")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "classroom"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with served() as (url, lecturer_url), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            play(browser, url, lecturer_url, out)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
