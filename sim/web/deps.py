"""Request dependencies shared by every area: the database, who is asking, rendering.

Areas (lecturer, student, exports, and later ones) use these instead of reaching into one
another: ``Db`` is a per-request connection, ``Lecturer`` admits only the lecturer,
``CurrentStudent`` the student whose browser holds a valid token, and ``render`` fills a
template from ``sim/web/templates``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from . import store
from .config import ServeConfig
from .security import LECTURER_COOKIE, STUDENT_COOKIE, TOKEN_SETTING, same_secret

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


# The dependencies below are coroutines on purpose: they only open a connection or read
# one row (WAL readers never wait), and running them on the event loop saves each request
# two or three hops through the thread pool, a third of its CPU time.
async def config(request: Request) -> ServeConfig:
    """The server's configuration."""
    cfg: ServeConfig = request.app.state.config
    return cfg


async def connection(request: Request) -> AsyncIterator[sqlite3.Connection]:
    """A database connection for this request, closed afterwards."""
    from .db import connect
    conn = connect(request.app.state.config.db)
    try:
        yield conn
    finally:
        conn.close()


Db = Annotated[sqlite3.Connection, Depends(connection)]
Config = Annotated[ServeConfig, Depends(config)]


async def form_fields(request: Request) -> FormData:
    """A posted form of plain fields (no files), parsed before a sync route runs."""
    return await request.form(max_files=0, max_fields=500, max_part_size=64_000)


Fields = Annotated[FormData, Depends(form_fields)]


class Denied(HTTPException):
    """A request for something this browser may not see; rendered as a page that says why."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(status, message)
        self.title = title


def lecturer_token(conn: sqlite3.Connection) -> str:
    """The lecturer's secret (made on the first start and kept in the database)."""
    token = store.setting(conn, TOKEN_SETTING)
    assert token is not None, "the server stores the token at start"
    return token


async def require_lecturer(request: Request, conn: Db) -> None:
    """Admit only the lecturer's browser (the cookie set by the printed URL)."""
    if not same_secret(request.cookies.get(LECTURER_COOKIE), lecturer_token(conn)):
        raise Denied(403, "Lecturer only",
                     "This page is for the lecturer. Open the lecturer address printed in the "
                     "terminal where 'python -m sim serve' runs (it ends in ?token=...). "
                     "Students join at /join with the code on the projector.")


Lecturer = Depends(require_lecturer)


async def current_student(request: Request, conn: Db) -> store.Student:
    """The student whose browser this is (403 with directions if none)."""
    token = request.cookies.get(STUDENT_COOKIE)
    student = store.student_by_token(conn, token) if token else None
    if student is None:
        raise Denied(403, "Join the class first",
                     "This browser has not joined a class. Open /join and enter the code "
                     "shown on the projector and your name.")
    return student


CurrentStudent = Annotated[store.Student, Depends(current_student)]


def session_or_404(conn: sqlite3.Connection, session_id: int) -> store.Session:
    """The session with this id, or a 404 page."""
    session = store.session_by_id(conn, session_id)
    if session is None:
        raise Denied(404, "No such class session",
                     f"There is no class session number {session_id}. Go back to the "
                     "lecturer page for the list of sessions.")
    return session


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """A page from ``templates/``."""
    return TEMPLATES.TemplateResponse(request, name, context or {}, status_code=status_code)
