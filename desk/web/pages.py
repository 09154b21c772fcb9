"""Pages that belong to no domain: home and accessibility statement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from desk.web.templating import render


async def home(request: Request) -> Response:
    return render(request, "public/home.html", {})


async def accessibility(request: Request) -> Response:
    return render(request, "public/accessibility.html", {})


routes = [
    Route("/", home, name="home"),
    Route("/accessibilite", accessibility, name="accessibility"),
]
