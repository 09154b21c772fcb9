"""Serving an ASGI app with uvicorn on a free port, for tests, benchmarks and the demo:
in a background thread with its own event loop (`serve_in_thread`), or in the running loop
(`serving`, for an app whose database is bound to that loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import uvicorn

# uvicorn's lifespan setting: "off" when the app's lifespan already runs in this loop.
Lifespan = Literal["auto", "on", "off"]


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server(app: Any, lifespan: Lifespan) -> uvicorn.Server:
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=2
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Lifespan = "auto"
) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread (its own event loop); yields its URL."""
    sock = _bind(host, port)
    server = _server(app, lifespan)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def serving(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Lifespan = "off"
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in the running event loop; yields its URL.

    For an app whose lifespan already runs in this loop (its database is bound to this loop).
    """
    sock = _bind(host, port)
    server = _server(app, lifespan)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the server did not start")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        sock.close()
