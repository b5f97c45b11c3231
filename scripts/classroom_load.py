"""Load test of the classroom server: a class submits at once while a big run goes.

    .venv/bin/python scripts/classroom_load.py                 # 40 students, 10,000 runs
    .venv/bin/python scripts/classroom_load.py --students 60 --runs 20000

Starts its own ``python -m sim serve`` on a free port of 127.0.0.1 with a fresh database
(nothing else is contacted), then:

1. session A (the flagship scenario, ``--runs`` runs, one student recommending a policy,
   so the base and that policy run paired): locked and run, in the server's worker
   processes;
2. while that run is live, session B: every student (one thread each, released together)
   opens the join page, joins, reads the briefing, submits a forecast, reads the saved page,
   revises the forecast and reads the page again, while the lecturer reloads the control
   page.

Prints the requests made, the failures (any status other than 200 or 303, or no answer),
the response-time percentiles, and whether the run was live from the first request of the
burst to the last (if not, the figure does not measure what it claims, and it says so).
Exit status 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0


class Hit(NamedTuple):
    """One request: what, how long, and its status (0: no answer)."""

    what: str
    seconds: float
    status: int


class Browser:
    """One person's connection and cookies (a tiny client: requests are timed exactly)."""

    def __init__(self, host: str, port: int, hits: list[Hit], lock: threading.Lock) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.hits, self.lock = hits, lock
        self.conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)

    def request(self, method: str, path: str, form: dict[str, str | list[str]] | None = None,
                what: str = "") -> tuple[int, dict[str, str], str]:
        body = urlencode(form or {}, doseq=True) if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
            got = {k.lower(): v for k, v in response.getheaders()}
            for value in response.headers.get_all("set-cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";")[0]
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            status, got, text = 0, {}, ""
        with self.lock:
            self.hits.append(Hit(what or f"{method} {path.split('?')[0]}",
                                 time.perf_counter() - began, status))
        return status, got, text


def start_server(db: Path) -> tuple[subprocess.Popen[str], str, str]:
    """``python -m sim serve --port 0``; returns the process, base URL and lecturer URL."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", "serve", "--port", "0", "--db",
                             str(db)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+)(/lecturer\?token=\S+)", line)
        if found:
            return proc, found.group(1), found.group(2)
    raise RuntimeError("the server did not start")


@contextmanager
def served() -> Iterator[tuple[str, str]]:
    """A server on a fresh database for the block: (base URL, lecturer path); stopped with
    Ctrl-C afterwards, as a lecturer would."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, lecturer_path = start_server(Path(tmp) / "classroom.sqlite")
        try:
            yield url, lecturer_path
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_up(browser: Browser) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if browser.request("GET", "/join", what="warm-up")[0] == 200:
            return
        time.sleep(0.2)
    raise RuntimeError("the server never answered")


def new_session(lecturer: Browser, scenario: str, runs: int) -> tuple[int, str]:
    """Create a session and set its runs; (id, join code)."""
    _, headers, _ = lecturer.request("POST", "/lecturer/sessions", {"scenario": scenario},
                                     what="setup")
    sid = int(re.search(r"/sessions/(\d+)", headers["location"]).group(1))  # type: ignore
    _, _, page = lecturer.request("GET", f"/lecturer/sessions/{sid}", what="setup")
    code = re.search(r'class="big-code"[^>]*>(\w+)<', page).group(1)  # type: ignore
    outcomes = re.findall(r'name="outcomes" value="(\w+)" checked', page)
    levers = re.findall(r'name="levers" value="(\w+)" checked', page)
    lecturer.request("POST", f"/lecturer/sessions/{sid}/setup",
                     {"outcomes": outcomes, "levers": levers, "runs": str(runs), "seed": "1"},
                     what="setup")
    return sid, code


def forecast_form(page: str, k: int) -> dict[str, str | list[str]]:
    """A plausible forecast for every question on the student's page."""
    fields = re.findall(r'name="(p_\w+)"', page)
    return {f: f"{(0.05 + 0.9 * ((k * 7 + i * 3) % 19) / 18):.2f}" for i, f in enumerate(fields)}


def student(browser: Browser, code: str, k: int, start: threading.Barrier) -> None:
    start.wait()
    browser.request("GET", f"/join?code={code}")
    browser.request("POST", "/join", {"code": code, "name": f"Student {k:02d}"})
    _, _, page = browser.request("GET", "/class")
    form = forecast_form(page, k)
    browser.request("POST", "/class/forecast", form)
    browser.request("GET", "/class?saved=1")
    browser.request("POST", "/class/forecast", forecast_form(page, k + 1))
    browser.request("GET", "/class?saved=1")


def progress(lecturer: Browser, sid: int) -> str:
    _, _, text = lecturer.request("GET", f"/lecturer/sessions/{sid}/progress", what="probe")
    found = re.search(r'"state":"(\w+)","done":(\d+)', text)
    return f"{found.group(1)} {found.group(2)}" if found else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40, help="students (default 40)")
    parser.add_argument("--runs", type=int, default=10_000, help="runs of the big run")
    parser.add_argument("--scenario", default="atacms.yaml", help="scenario of the big run")
    args = parser.parse_args()
    if not 1 <= args.students <= 200:
        parser.error("--students must be between 1 and 200")
    with served() as (url, lecturer_path):
        return measure(url, lecturer_path, args)


def measure(url: str, lecturer_path: str, args: argparse.Namespace) -> int:
    host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80
    setup_hits: list[Hit] = []
    hits: list[Hit] = []
    lock = threading.Lock()
    lecturer = Browser(host, port, setup_hits, lock)
    wait_up(lecturer)
    lecturer.request("GET", lecturer_path, what="setup")
    big, big_code = new_session(lecturer, args.scenario, args.runs)
    advocate = Browser(host, port, setup_hits, lock)
    advocate.request("POST", "/join", {"code": big_code, "name": "Advocate"})
    _, _, page = advocate.request("GET", "/class")
    lever = re.search(r'<select id="(lever_\w+)"[^>]*>\s*<option value="">[^<]*</option>\s*'
                      r'<option value="([^"]+)"', page)
    form = forecast_form(page, 0)
    if lever:
        form[lever.group(1)] = lever.group(2)
    advocate.request("POST", "/class/forecast", form)
    class_b, code_b = new_session(lecturer, "teaching.yaml", 1000)
    lecturer.request("POST", f"/lecturer/sessions/{big}/lock", what="setup")
    lecturer.request("POST", f"/lecturer/sessions/{big}/run", what="setup")
    # Start the burst once the run has merged its first chunks: its workers are busy.
    while not re.fullmatch(r"running [1-9]\d*", progress(lecturer, big)):
        time.sleep(0.2)
    before = progress(lecturer, big)

    start = threading.Barrier(args.students + 1)
    threads = [threading.Thread(target=student, args=(Browser(host, port, hits, lock),
                                                      code_b, k, start))
               for k in range(1, args.students + 1)]
    for t in threads:
        t.start()
    watcher = Browser(host, port, hits, lock)
    watcher.cookies = dict(lecturer.cookies)
    start.wait()
    began = time.perf_counter()
    while any(t.is_alive() for t in threads):
        watcher.request("GET", f"/lecturer/sessions/{class_b}", what="GET lecturer page")
        time.sleep(0.5)
    for t in threads:
        t.join()
    burst = time.perf_counter() - began
    after = progress(lecturer, big)
    return report(hits, burst, before, after, args)


def report(hits: list[Hit], burst: float, before: str, after: str,
           args: argparse.Namespace) -> int:
    times = sorted(h.seconds * 1000 for h in hits)
    failed = [h for h in hits if h.status not in (200, 303)]
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    live = before.startswith("running") and after.startswith("running")
    print(f"{args.students} students, {len(hits)} requests in {burst:.1f} s while "
          f"{args.scenario} ran {args.runs:,} runs per model (base + 1 policy, paired)")
    kinds = sorted({f"{h.what} -> {h.status}" for h in failed})
    print(f"failures: {len(failed)}" + (f" ({', '.join(kinds)})" if failed else ""))
    print(f"response time: p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms, "
          f"p99 {cuts[98]:.0f} ms, max {times[-1]:.0f} ms")
    by_kind: dict[str, list[float]] = {}
    for h in hits:
        by_kind.setdefault(h.what, []).append(h.seconds * 1000)
    for kind, values in sorted(by_kind.items()):
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"  {kind:<24} n={len(values):<4} median {statistics.median(values):.0f} ms,"
              f" p95 {p95:.0f} ms")
    print(f"the run at the burst's start: {before} runs done; at its end: {after}"
          + ("" if live else "  WARNING: the run was not live throughout; the figure does "
                             "not measure load during a run (use more --runs)"))
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
