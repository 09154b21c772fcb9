"""Pages that belong to no domain: home and accessibility statement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from desk.retention.register import register_page
from desk.web.templating import render


async def home(request: Request) -> Response:
    return render(request, "public/home.html", {})


async def accessibility(request: Request) -> Response:
    return render(request, "public/accessibility.html", {})


routes = [
    Route("/", home, name="home"),
    Route("/accessibilite", accessibility, name="accessibility"),
    # The desk's own register of processing: it is a data controller too.
    Route("/registre-du-guichet", register_page, name="desk_register"),
]
