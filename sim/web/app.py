"""The application factory: one FastAPI app per server, built from its areas.

An area is a module with a ``router`` (an ``APIRouter``) and ``MIGRATIONS`` (its tables).
To add one (a game, say), write the module and list it in ``AREAS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import db, exports, games, lecturer, store, student
from .config import ServeConfig
from .deps import Denied, render
from .jobs import Jobs
from .security import TOKEN_SETTING, BodyLimit, SafeHeaders, new_token

AREAS: tuple[ModuleType, ...] = (lecturer, student, exports, games)
STATIC = Path(__file__).parent / "static"
# The largest request accepted: a scenario file (2 MB, the loader's limit) plus the form.
MAX_BODY = 2_500_000


def open_database(config: ServeConfig, areas: Sequence[ModuleType] = AREAS) -> str:
    """Create or update the database; runs left live by a stopped server are marked
    interrupted. Returns the lecturer's token."""
    config.db.parent.mkdir(parents=True, exist_ok=True)
    db.migrate(config.db, [*db.CORE, *(m for area in areas for m in area.MIGRATIONS)])
    conn = db.connect(config.db)
    try:
        store.interrupt_live_runs(conn, "The server stopped during this run; run it again.")
        return store.setting_or_create(conn, TOKEN_SETTING, new_token())
    finally:
        conn.close()


def create_app(config: ServeConfig, areas: Sequence[ModuleType] = AREAS) -> FastAPI:
    """The classroom app for ``config``; the database is prepared when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not app.state.opened:  # once per app, however many clients start it
            open_database(config, areas)
            app.state.opened = True
        try:
            yield
        finally:
            app.state.jobs.stop_all()

    app = FastAPI(title="Escalation simulator classroom", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.opened = False
    app.state.jobs = Jobs(config)
    for area in areas:
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SafeHeaders)
    _error_pages(app)
    return app


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if isinstance(exc, Denied):
            title, message = exc.title, str(exc.detail)
        elif exc.status_code == 404:
            title, message = "Page not found", ("There is no page at this address. Students "
                                                "start at /join; the lecturer at /lecturer.")
        else:
            title, message = f"Error {exc.status_code}", str(exc.detail)
        return render(request, "error.html", {"title": title, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return render(request, "error.html", {
            "title": "That address or form is not valid",
            "message": f"Something in the request is malformed ({where}). Go back and use "
                       "the page's own links and forms."}, status_code=400)
