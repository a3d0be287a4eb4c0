"""What every request passes first: its id, the optional bearer token, and its timing.

One plain ASGI middleware (Starlette's BaseHTTPMiddleware cost more than half of a bare
endpoint's throughput, and each layer costs again):

- a **request id**, the client's ``X-Request-ID`` when it is a short token, else a new one,
  answered in ``X-Request-ID`` and kept in :data:`REQUEST_ID` for the request's log lines and
  error bodies (a 503 names it instead of the store's internals);
- the **bearer token**, when one is set: every route but ``/health`` and the application's
  files (which hold no data, and must load to ask for the token) answers 401 without
  ``Authorization: Bearer <token>``, compared in constant time;
- the **latency** of each request by route and status.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickcast.monitor.prometheus import API_LATENCY

__all__ = ["REQUEST_ID", "Edge"]

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
GIVEN_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
OPEN_PATHS = ("/health",)  # and the application's files below
OPEN_PREFIXES = ("/assets/", "/static/")
UNAUTHORIZED = b'{"detail":"this API wants a bearer token: Authorization: Bearer <token>"}'


class Edge:
    """Request id, token check and timing around ``app``; ``token`` empty: no check."""

    def __init__(self, app: ASGIApp, token: str = "") -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        REQUEST_ID.set(request_id)
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            if self.expected and not self._admits(scope):
                await _unauthorized(sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            API_LATENCY.labels(route, str(status)).observe(time.perf_counter() - start)

    def _admits(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path == "/" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        return hmac.compare_digest(given, self.expected)


def _request_id(scope: Scope) -> str:
    given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
    return given.decode() if GIVEN_ID.fullmatch(given) else secrets.token_hex(8)


async def _unauthorized(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer realm="tickcast"'),
                (b"content-length", str(len(UNAUTHORIZED)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": UNAUTHORIZED})
