"""Request bodies with a size limit checked while they stream in, and upload names safe to store and show."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_NAME = 200


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes()`, by Content-Length up front, else by counting
    the chunks as they arrive (so a chunked upload is cut off, never read whole into memory first)."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[], int]) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        seen, over = 0, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}  # the app stops reading; we answer below
            return message

        async def guarded(message: Message) -> None:
            if not over:
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over:
            await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body too large; the limit is {limit / 2**20:.3g} MiB."}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def display_name(filename: str | None) -> str:
    """The uploader's file name without any folders, printable and at most MAX_NAME characters: kept as
    display text only (the stored file is named by its content)."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - 12] + "…." + ext[:10]) if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name or "upload"


_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.\-+@~]+){2,}")


def hide_paths(text: str | None) -> str | None:
    """A message with server file paths cut down to their last part (errors and hints go to clients)."""
    return _PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], text) if text else text
