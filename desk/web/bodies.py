"""Reading a request body in ASGI middleware without losing it for the app behind."""

from __future__ import annotations

from starlette.types import Message, Receive


class BodyTooLarge(Exception):
    """The body is larger than allowed (by its Content-Length, or once read that far)."""


def limited_receive(receive: Receive, limit: int) -> Receive:
    """A receive channel that stops a body once it grows past `limit` (no Content-Length needed)."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
        return message

    return receive_limited


async def buffer_body(receive: Receive, limit: int) -> tuple[bytes, list[Message], bool]:
    """Read up to a little past `limit` bytes: (body so far, messages read, whole body read).

    Hand the messages to `replay` so the app behind still gets every byte.
    """
    messages: list[Message] = []
    body = b""
    more = True
    while more and len(body) <= limit:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body, messages, not more and len(body) <= limit


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive channel giving the messages already read first, then the rest of the body."""

    async def replayed() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed
