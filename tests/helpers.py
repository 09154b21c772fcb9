"""Helpers tests import: `from tests.helpers import csrf_token`."""

from __future__ import annotations

import httpx


async def csrf_token(client: httpx.AsyncClient, path: str = "/") -> str:
    """GET a page so the CSRF cookie is set, and return the token forms must carry."""
    await client.get(path)
    token = client.cookies.get("csrftoken")
    assert token, "the CSRF cookie was not set"
    return token
