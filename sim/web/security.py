"""Who may do what: the lecturer's secret, students' browser tokens, and safe responses.

The lecturer opens ``/lecturer?token=...`` once (the URL printed at start); the token is
then kept in an HttpOnly, SameSite=Strict cookie, so another site cannot post lecturer
actions and the token leaves the address bar. Each student's browser holds a random token
of its own. Every response forbids framing and outside resources (all assets are local).
"""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LECTURER_COOKIE = "sim_lecturer"
STUDENT_COOKIE = "sim_student"
TOKEN_SETTING = "lecturer_token"

# Every page is server-rendered from local files: nothing else may load, nothing may frame it.
HEADERS = {
    "content-security-policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def new_token() -> str:
    """A fresh lecturer secret."""
    return secrets.token_urlsafe(18)


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the real one."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


class SafeHeaders:
    """ASGI middleware: adds HEADERS to every HTTP response, and no-store to pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware: refuses request bodies over ``limit`` bytes with 413 and a clear
    message, before anything parses them (hostile uploads are cut off here)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (f"The upload is larger than {self.limit // 1_000_000} MB: nothing was saved. "
                "Scenario files are limited to 2 MB.").encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
