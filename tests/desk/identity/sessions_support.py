"""For the session and rate-limit tests: the app with some settings changed, browsers on it."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.identity.models import WebSession
from desk.mail.sink import MailSink
from desk.settings import Settings


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, mail_sink: MailSink, **overrides: Any
) -> AsyncIterator[Starlette]:
    EXECUTOR_CACHE.clear()
    application = create_app(replace(settings, **overrides), mail_sink=mail_sink)
    async with LifespanManager(application):
        yield application


def browser(app: Starlette, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """Another browser on the same app: its own cookie jar."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def row_of(cookie_value: str | None) -> WebSession | None:
    """The session row a cookie value names (the table holds only its SHA-256)."""
    assert cookie_value
    return await WebSession.filter(id=hashlib.sha256(cookie_value.encode()).hexdigest()).first()


def set_cookies(response: httpx.Response, name: str) -> list[str]:
    """The Set-Cookie headers of one cookie, as sent."""
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def cookie_attributes(header: str) -> dict[str, str]:
    """`name=value; Path=/; HttpOnly` → {"name": "value", "path": "/", "httponly": ""}."""
    parts = [part.strip() for part in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {name: value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return attributes
