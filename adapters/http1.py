"""A small HTTP/1.1 client for one kind of call: POST a body to a partner, read its status.

What the webhook channel sends thousands of times a minute. httpx (with httpcore and anyio)
spent about 1.2 ms of CPU per message over a kept-alive connection, most of it in its pool's
bookkeeping (each idle connection polled at every request) and in two socket writes per
request (bench/fanout.py); this client writes the request in one write and reads the reply's
head and a bounded body. It keeps the guard of adapters.network: every call resolves the host
again, keeps only permitted addresses (`permitted_addresses`), and connects to exactly that
address, with the TLS server name and the `Host` header the partner's name. Kept-alive
connections are pooled per partner origin and checked address, never shared between names.
Redirects are not followed (the caller sorts a 3xx out); no proxy is used.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.base import AdapterError
from adapters.network import Address, Network, literal_address, permitted_addresses

# A kept connection unused for this long is closed rather than reused (as httpx's pool).
KEEPALIVE_SECONDS = 30.0
MAX_IDLE_PER_ADDRESS = 32
MAX_HEAD_BYTES = 64 * 1024
# Statuses that never carry a body (RFC 9112 6.3).
_NO_BODY = frozenset({204, 304})


# The partner's reply is not HTTP/1.1 as expected, or it closed the connection before it: the
# names httpx gives them, so a job's recorded error reads as it did (the back office shows it).
ProtocolError = httpx.RemoteProtocolError


@dataclass(frozen=True)
class Reply:
    """A partner's answer: its status and headers (names in lower case); the body is dropped."""

    status_code: int
    headers: Mapping[str, str]


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used_at: float = field(default_factory=time.monotonic)

    def usable(self) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and time.monotonic() - self.used_at < KEEPALIVE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, Host header, request target) of a partner's URL."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme
    if scheme not in ("http", "https"):
        raise AdapterError(f"unsupported scheme {scheme!r}")
    default = 443 if scheme == "https" else 80
    port = parsed.port or default
    host = parsed.host
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port == default else f"{shown}:{port}"
    target = parsed.raw_path.decode("ascii") or "/"
    return scheme, host, port, authority, target


class Pool:
    """Kept-alive connections to one partner origin, by the address each was opened to."""

    def __init__(self, *, allowed: Iterable[Network], verify: ssl.SSLContext | None) -> None:
        self.allowed = tuple(allowed)
        self.verify = verify
        self.idle: dict[Address, list[_Connection]] = {}

    def _take(self, address: Address) -> _Connection | None:
        kept = self.idle.get(address)
        while kept:
            connection = kept.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, address: Address, connection: _Connection) -> None:
        kept = self.idle.setdefault(address, [])
        if len(kept) >= MAX_IDLE_PER_ADDRESS:
            connection.close()
            return
        connection.used_at = time.monotonic()
        kept.append(connection)

    async def _open(
        self, scheme: str, host: str, address: Address, port: int, connect_timeout: float
    ) -> _Connection:
        tls: dict[str, Any] = {}
        if scheme == "https":
            # TLS speaks to the name (SNI) and checks the certificate against it, not the IP.
            tls = {"ssl": self.verify or True, "server_hostname": host.strip("[]")}
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(str(address), port, **tls)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}: {type(exc).__name__}") from exc
        return _Connection(reader, writer)

    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        connect_timeout: float,
        max_body: int,
    ) -> Reply:
        scheme, host, port, authority, target = _target(url)
        addresses = await permitted_addresses(host, port, self.allowed)
        head = [f"POST {target} HTTP/1.1", f"host: {authority}", f"content-length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        failure: Exception = httpx.ConnectError(f"no address of {host} accepted the connection")
        # In the resolver's order, as a connection by name would; only a refused connection
        # moves on, before any byte of the request was sent.
        for address in addresses:
            connection = self._take(address)
            if connection is not None:
                try:
                    return await self._exchange(address, connection, request, max_body)
                except _Stale:
                    pass  # the partner closed it meanwhile: once more on a new connection
            try:
                connection = await self._open(scheme, host, address, port, connect_timeout)
            except httpx.ConnectError as exc:
                failure = exc
                continue
            try:
                return await self._exchange(address, connection, request, max_body)
            except _Stale as exc:
                raise ProtocolError("the partner closed the connection without answering") from exc
        raise failure

    async def _exchange(
        self, address: Address, connection: _Connection, request: bytes, max_body: int
    ) -> Reply:
        """Send the request, read the reply; the connection goes back to the pool only after a
        complete exchange (a timeout or a cancellation closes it)."""
        keep = False
        try:
            try:
                connection.writer.write(request)
                await connection.writer.drain()
                status, headers, keep = await _read_head(connection.reader)
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Stale from exc
                raise ProtocolError("the partner's reply was cut short") from exc
            except ConnectionError as exc:
                raise _Stale from exc  # nothing of the reply read yet
            if status not in _NO_BODY:
                keep = await _read_body(connection.reader, headers, max_body) and keep
            return Reply(status, headers)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise ProtocolError(f"the partner's reply is malformed: {type(exc).__name__}") from exc
        except ConnectionError as exc:
            if isinstance(exc, _Stale):
                raise
            raise httpx.ReadError(f"connection lost: {type(exc).__name__}") from exc
        finally:
            if keep:
                self._give_back(address, connection)
            else:
                connection.close()


class _Stale(ConnectionError):
    """A kept connection closed by the partner before a byte of its reply."""


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bool]:
    while True:
        raw = await reader.readuntil(b"\r\n\r\n")
        if len(raw) > MAX_HEAD_BYTES:
            raise ProtocolError("the partner's reply head is too long")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError("the partner's reply is not HTTP/1.x")
        status = int(parts[1])
        if 100 <= status < 200:
            continue  # an interim reply (100 Continue, 103 Early Hints): the real one follows
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        return status, headers, keep


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str], limit: int) -> bool:
    """Read and drop the body, `limit` bytes at most; True when the connection can be kept."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        read = 0
        while read <= limit:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return True
            await reader.readexactly(size + 2)
            read += size
        return False
    length = headers.get("content-length")
    if length is None:
        await reader.read(limit)  # delimited by the connection's end
        return False
    size = int(length)
    if size > limit:
        return False
    await reader.readexactly(size)
    return True


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Pool]] = (
    weakref.WeakKeyDictionary()
)


def pool_for(url: str, *, allowed: Iterable[Network], verify: ssl.SSLContext | None) -> Pool:
    """This event loop's pool for the partner origin of `url` (scheme, host, port)."""
    scheme, host, port, _, _ = _target(url)
    networks = tuple(allowed)
    key = (scheme, host, port, networks, id(verify))
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    pool = pools.get(key)
    if pool is None:
        pool = pools[key] = Pool(allowed=networks, verify=verify)
    return pool


async def close_pools() -> None:
    """Close this event loop's kept connections."""
    pools = _pools.pop(asyncio.get_running_loop(), {})
    for pool in pools.values():
        for kept in pool.idle.values():
            for connection in kept:
                connection.close()
        pool.idle.clear()


__all__ = ["Pool", "ProtocolError", "Reply", "close_pools", "literal_address", "pool_for"]
