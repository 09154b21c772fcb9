"""The webhook channel's HTTP/1.1 client against partners that answer in every way HTTP allows:
a kept connection is reused only after a complete reply, and a reply it cannot keep closes it."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters import http1
from adapters.network import BlockedDestination

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)
Reply = Callable[[int], bytes]


class Scripted:
    """A raw HTTP server: the n-th request (over any connection) gets `reply(n)`; a reply
    ending the connection closes it after writing."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.reply(len(self.requests))
                writer.write(answer.removesuffix(b"<close>"))
                await writer.drain()
                if answer.endswith(b"<close>"):
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


Start = Callable[[Reply], Awaitable[tuple["Scripted", str]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    servers: list[asyncio.Server] = []

    async def run(reply: Reply) -> tuple[Scripted, str]:
        scripted = Scripted(reply)
        server = await asyncio.start_server(scripted.serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return scripted, f"http://127.0.0.1:{port}/hook?x=1"

    yield run
    await http1.close_pools()
    for server in servers:
        server.close()


async def _post(url: str, body: bytes = b'{"a":1}') -> http1.Reply:
    pool = http1.pool_for(url, allowed=LOCAL, verify=None)
    return await pool.post(
        url, body=body, headers={"webhook-id": "d-1"}, connect_timeout=5, max_body=1024
    )


async def test_replies_with_a_length_or_in_chunks_keep_one_connection(start: Start) -> None:
    replies = [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n"
        b"\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nRetry-After: 7\r\n\r\n",
    ]
    partner, url = await start(lambda n: replies[n - 1])

    statuses = [(await _post(url)).status_code for _ in replies]

    assert statuses == [204, 200, 202, 200]
    assert partner.connections == 1
    first = partner.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in first and b"\r\nwebhook-id: d-1\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


async def test_headers_are_read_in_lower_case(start: Start) -> None:
    _, url = await start(
        lambda n: b"HTTP/1.1 429 Slow Down\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"
    )
    reply = await _post(url)
    assert reply.status_code == 429 and reply.headers["retry-after"] == "7"


async def test_a_reply_that_ends_the_connection_is_not_reused(start: Start) -> None:
    partner, url = await start(
        lambda n: b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    )
    for _ in range(2):
        assert (await _post(url)).status_code == 200
    assert partner.connections == 2


async def test_a_body_over_the_limit_closes_the_connection(start: Start) -> None:
    partner, url = await start(
        lambda n: b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000
    )
    for _ in range(2):
        assert (await _post(url)).status_code == 200
    assert partner.connections == 2


async def test_a_kept_connection_the_partner_closed_is_replaced(start: Start) -> None:
    # The first reply closes the connection behind the client's back (no "connection: close").
    partner, url = await start(
        lambda n: b"HTTP/1.1 204 No Content\r\n\r\n" + (b"<close>" if n == 1 else b"")
    )
    assert (await _post(url)).status_code == 204
    await asyncio.sleep(0.05)
    assert (await _post(url)).status_code == 204
    assert partner.connections == 2
    assert len(partner.requests) == 2


async def test_a_reply_that_is_not_http_is_an_error_to_retry(start: Start) -> None:
    _, url = await start(lambda n: b"SSH-2.0-OpenSSH\r\n\r\n<close>")
    with pytest.raises(http1.ProtocolError):
        await _post(url)


async def test_an_address_the_desk_may_not_reach_is_refused_before_connecting(
    start: Start,
) -> None:
    partner, url = await start(lambda n: b"HTTP/1.1 204 No Content\r\n\r\n")
    pool = http1.pool_for(url, allowed=(), verify=None)
    with pytest.raises(BlockedDestination):
        await pool.post(url, body=b"{}", headers={}, connect_timeout=5, max_body=1024)
    assert partner.connections == 0
