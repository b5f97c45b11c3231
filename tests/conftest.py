"""Fixtures shared by several test files.

- ``teaching``, ``base``: the compiled teaching scenario and the corpus base (a copy of it
  with a ranged lever, see tests/test_loader.py), for the loader's and the settings' tests
  (a file that defines its own ``teaching`` uses that one).

For the classroom web app, shared by every web test (HTTP and browser):

- ``classroom``: an app on a fresh database with a signed-in lecturer client and helpers to
  create sessions, add students (each its own client, so its own cookies) and wait for runs;
- ``live_server``: the real ``python -m sim serve`` on a free localhost port;
- ``browser``: headless Debian Chromium driven by Playwright (never downloads a browser).

Tests marked ``slow`` run first, so that the parallel workers (pytest-xdist, see
pyproject.toml) start the long ones early and finish together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from sim.spec.loader import load, load_text
from sim.spec.model import Model

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def teaching() -> Model:
    """The compiled teaching scenario."""
    return load(SCENARIOS / "teaching.yaml")


@pytest.fixture(scope="module")
def base() -> Model:
    """The compiled corpus base (has a ranged numeric lever)."""
    from tests.test_loader import BASE  # the loader's tests own the text
    return load_text(BASE, "base.yaml")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (a stable sort: the order within each kind is kept)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


class Classroom:
    """An app under test: a lecturer client and students in clients of their own."""

    def __init__(self, app: Any, config: Any, lecturer: Any) -> None:
        self.app = app
        self.config = config
        self.lecturer = lecturer

    def db(self) -> Any:
        """A fresh connection to the app's database (close it)."""
        from sim.web.db import connect
        return connect(self.config.db)

    def token(self) -> str:
        """The lecturer's token."""
        from sim.web import store
        conn = self.db()
        try:
            value = store.setting(conn, "lecturer_token")
        finally:
            conn.close()
        assert value is not None
        return value

    def client(self) -> Any:
        """A new browser-like client with no cookies (does not rerun the app's start-up)."""
        from fastapi.testclient import TestClient
        return TestClient(self.app, follow_redirects=True)

    def create(self, scenario: str = "teaching.yaml", runs: int = 200, seed: int = 3,
               outcomes: list[str] | None = None, levers: list[str] | None = None) -> Any:
        """Create a session from a shipped scenario and set its questions; the Session."""
        from sim.web import store
        r = self.lecturer.post("/lecturer/sessions", data={"scenario": scenario})
        assert r.status_code == 200, r.text
        sid = int(re.search(r"/lecturer/sessions/(\d+)", str(r.url)).group(1))  # type: ignore
        conn = self.db()
        try:
            session = store.session_by_id(conn, sid)
            assert session is not None
            form: dict[str, Any] = {
                "outcomes": outcomes or list(session.outcomes),
                "levers": list(session.levers) if levers is None else levers,
                "runs": str(runs), "seed": str(seed)}
            r = self.lecturer.post(f"/lecturer/sessions/{sid}/setup", data=form)
            assert r.status_code == 200, r.text
            session = store.session_by_id(conn, sid)
        finally:
            conn.close()
        return session

    def join(self, code: str, name: str) -> Any:
        """A new student client that joined with ``name``."""
        client = self.client()
        r = client.post("/join", data={"code": code, "name": name})
        assert r.status_code == 200 and str(r.url).endswith("/class"), r.text
        return client

    def wait_run(self, session_id: int, timeout: float = 180.0) -> dict[str, Any]:
        """Poll the progress endpoint until the run is no longer queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.lecturer.get(f"/lecturer/sessions/{session_id}/progress").json()
            if state["state"] not in ("queued", "running"):
                return dict(state)
            time.sleep(0.3)
        raise TimeoutError(f"run of session {session_id} did not finish in {timeout} s")


@pytest.fixture
def classroom(tmp_path: Path) -> Iterator[Classroom]:
    """A fresh app and database, its lecturer signed in through the token URL."""
    from fastapi.testclient import TestClient

    from sim.web.app import create_app
    from sim.web.config import ServeConfig
    config = ServeConfig(db=tmp_path / "class.sqlite", scenarios=SCENARIOS, workers=1,
                         job_nice=0)
    app = create_app(config)
    with TestClient(app, follow_redirects=True) as lecturer:
        room = Classroom(app, config, lecturer)
        r = lecturer.get(f"/lecturer?token={room.token()}")
        assert r.status_code == 200
        yield room


class LiveServer(NamedTuple):
    """A running ``python -m sim serve``: its base URL, the lecturer URL, its process."""

    url: str
    lecturer_url: str
    process: subprocess.Popen[str]
    db: Path
    banner: str


def start_server(db: Path, *extra: str, timeout: float = 60.0) -> LiveServer:
    """Start ``python -m sim serve --port 0`` and read the addresses it prints."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "serve", "--port", "0", "--db",
                             str(db), "--scenarios", str(SCENARIOS), "--workers", "1", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"(http://127\.0\.0\.1:\d+)/lecturer\?token=\S+", line)
        if found:
            # The banner is printed before uvicorn starts: wait for it to accept requests.
            _wait_until_up(found.group(1), deadline)
            return LiveServer(found.group(1), found.group(0), proc, db, "".join(lines))
    proc.kill()
    raise RuntimeError("server did not start:\n" + "".join(lines))


def _wait_until_up(url: str, deadline: float) -> None:
    import urllib.request
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/join", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def stop_server(server: LiveServer) -> str:
    """Stop the server with Ctrl-C (as a lecturer would) and return all it printed."""
    import signal
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    assert server.process.stdout is not None
    # Read through the text buffer (communicate() would skip what readline() buffered).
    return server.banner + server.process.stdout.read()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real server on a free port of 127.0.0.1, stopped afterwards."""
    server = start_server(tmp_path / "live.sqlite")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package). Skipped only outside CI when it is missing;
    in CI (.ci/run installs it) a missing browser fails the run."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
