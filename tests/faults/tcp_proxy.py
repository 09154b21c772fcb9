"""A loopback TCP proxy whose plug a test can pull: `cut()` drops every open connection and
refuses new ones (the database "restarting"), `restore()` listens again on the same port."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        # Cut the moment the client sends bytes containing every one of these (then forget).
        self._trip: tuple[bytes, ...] = ()
        self.tripped = asyncio.Event()
        self._cutting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def cut(self) -> None:
        """Refuse new connections, then abort every open one (both sides see a reset)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    def cut_when_sent(self, *markers: bytes) -> None:
        """Cut everything as soon as the client sends a packet holding all `markers` (a
        statement's text, say), before that packet reaches the server."""
        self._trip = markers
        self.tripped.clear()

    async def _trip_now(self) -> None:
        await self.cut()
        self.tripped.set()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _handle(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            client.transport.abort()
            return
        self.connections += 1
        self._writers.update((client, upstream))
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream, watch=True),
                self._pipe(upstream_reader, client),
            )
        finally:
            for writer in (client, upstream):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool = False
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if watch and self._trip and all(m in data for m in self._trip):
                    # Not forwarded: the server never sees this statement.
                    self._trip = ()
                    self._cutting = asyncio.create_task(self._trip_now())
                    return
                writer.write(data)
                await writer.drain()
        # One side ended: end the other too, as a dropped link would.
        writer.transport.abort()
