"""Pages that belong to no domain: home and accessibility statement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def home(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "public/home.html", {})


async def accessibility(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "public/accessibility.html", {})


routes = [
    Route("/", home, name="home"),
    Route("/accessibilite", accessibility, name="accessibility"),
]
