"""A partner that takes its time: answers every webhook 204 after a fixed delay (default 50 ms).

Run: python bench/slow_partner.py PORT [DELAY_SECONDS]

For bench/scaleout.py: the desk's side waits on the partner, so what several workers deliver
together shows whether anything but the waiting (a lock, a shared connection) holds them back.
It checks nothing (the reference partner, `desk partner-sim`, verifies signatures).
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05


async def webhook(request: Request) -> Response:
    await request.body()
    await asyncio.sleep(DELAY)
    return Response(status_code=204)


app = Starlette(routes=[Route("/webhooks/desk", webhook, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
