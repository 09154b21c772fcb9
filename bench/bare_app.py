"""The yardstick: a bare Starlette app answering plaintext "hello".

Every benchmark measures it on the same machine, in the same run, served by uvicorn with the
same options as `desk serve`, so each desk figure is also given as a share of this one.

Run alone: .venv/bin/python bench/bare_app.py 8200
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", hello)])


def main() -> None:
    import sys

    import uvicorn

    # The options `desk serve` uses (desk/cli/serve.py, cmd_serve). The desk writes one access line
    # per request itself (desk.web.requestlog); uvicorn's access log is the bare app's.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]) if len(sys.argv) > 1 else 8200,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()
