"""Misbehaving servers on real loopback sockets: an SMTP server and a partner's HTTP endpoint.

Each answers every connection with the next scripted behaviour (the last one repeats) and
records what the desk sent, so a test can check the idempotency key of every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy

TRICKLE_PAUSE = 0.2


def free_port() -> int:
    """A port nobody listens on (connecting to it is refused) until a server takes it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Scripted:
    """The behaviours still to play; each connection takes the next, the last one repeats."""

    script: list[str]

    def next(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def then(self, *behaviours: str) -> None:
        self.script = list(behaviours)


@contextlib.asynccontextmanager
async def listening(
    port: int, handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
) -> AsyncIterator[None]:
    """Serve `handle` on 127.0.0.1:port in this event loop; connections cut on the way out."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the desk gave up on us: what a fault test expects
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One byte at a time, slower than any deadline the desk sets in these tests."""
    for byte in data:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(TRICKLE_PAUSE)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST rather than a FIN: the peer sees 'connection reset'."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- SMTP -----------------------------------------------------------------------------------


class FaultySmtp(Scripted):
    """Behaviours: "ok", "busy" (451 after DATA), "refuse" (550 at RCPT), "trickle" (greeting)."""

    def __init__(self, *script: str) -> None:
        super().__init__(list(script) or ["ok"])
        self.connections = 0
        self.message_ids: list[str] = []  # one per DATA received, accepted or not
        self.accepted: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        behaviour = self.next()
        if behaviour == "trickle":
            await trickle(writer, b"220 smtp.lent.invalid ESMTP un octet a la fois" * 10)
            return
        writer.write(b"220 smtp.test.invalid ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-smtp.test.invalid\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT" and behaviour == "refuse":
                address = line.partition(b":")[2].strip()
                writer.write(b"550 5.1.1 " + address + b": Recipient address rejected\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                data = await reader.readuntil(b"\r\n.\r\n")
                parsed = message_from_bytes(data[:-5], policy=policy.default)
                message_id = str(parsed.get("Message-ID", ""))
                self.message_ids.append(message_id)
                if behaviour == "busy":
                    writer.write(b"451 4.3.0 Mail server temporarily busy, try later\r\n")
                else:
                    self.accepted.append(message_id)
                    writer.write(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:  # MAIL, RCPT, RSET, NOOP
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()


# --- HTTP -----------------------------------------------------------------------------------


class FaultyPartner(Scripted):
    """Behaviours: "ok" (204), "503", "429:SECONDS" (with Retry-After), "silent" (never
    answers), "reset" (half a response, then RST), "trickle" (the status line byte by byte),
    "created" (201 with a DRP answer), "trickle-body" (a DRP answer, its body byte by byte)."""

    def __init__(self, *script: str) -> None:
        super().__init__(list(script) or ["ok"])
        self.requests: list[dict[str, str]] = []  # the headers of every request received

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(headers)
        behaviour = self.next()
        if behaviour == "silent":
            await asyncio.sleep(3600)
        elif behaviour == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: appli")
            await writer.drain()
            reset(writer)
        elif behaviour == "trickle":
            await trickle(writer, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        elif behaviour in ("created", "trickle-body"):
            body = b'{"request_id": "drp-1", "status": "open"}'
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            )
            if behaviour == "created":
                writer.write(body)
            else:
                await trickle(writer, body)
        else:
            status, _, retry_after = behaviour.partition(":")
            reason = {"ok": "204 No Content", "503": "503 Service Unavailable"}.get(
                status, "429 Too Many Requests"
            )
            extra = f"Retry-After: {retry_after}\r\n" if retry_after else ""
            reply = f"HTTP/1.1 {reason}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(reply.encode())
        await writer.drain()
