"""ASVS rows that had no test of their own: headers on the 500 page (V14.4), no partner channel
towards an internal network (V5.2.6, SSRF)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from desk.mail.sink import MailSink
from desk.partners.channels import ChannelError, configure_channel
from desk.registry.models import Signatory
from desk.settings import Settings
from tests.desk.security.sessions_support import running_app
from tests.factories import make_signatory


async def _broken_page(request: Request) -> Response:
    raise RuntimeError("a bug in a route")


def _csp(response: httpx.Response) -> dict[str, str]:
    return dict(
        part.strip().partition(" ")[::2]
        for part in response.headers["content-security-policy"].split(";")
    )


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
async def test_an_unexpected_error_keeps_every_security_header(
    settings: Settings, mail_sink: MailSink, accept: str
) -> None:
    # Starlette answers a bug from its outermost layer: the page must still be protected.
    async with running_app(settings, mail_sink, https_only=True) as app:
        app.router.routes.append(Route("/asvs-broken", _broken_page))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            response = await c.get("/asvs-broken", headers={"accept": accept})
    assert response.status_code == 500
    assert "a bug in a route" not in response.text  # nothing of the error is shown
    assert response.headers["x-content-type-options"] == "nosniff"
    assert _csp(response)["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in _csp(response)["default-src"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")
    if accept == "text/html":
        assert "Erreur du service" in response.text
    else:
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_channel_towards_an_internal_network_is_refused_and_not_stored(
    app: Starlette,
) -> None:
    await make_signatory("bibus")
    for adapter, settings in (
        ("webhook", {"url": "https://169.254.169.254/latest/meta-data/"}),
        ("rest", {"base_url": "https://192.168.0.10", "token": "jeton"}),
    ):
        with pytest.raises(ChannelError) as refused:
            await configure_channel(
                slug="bibus", adapter=adapter, settings=settings, secret_key="clé-de-test"
            )
        assert "réseau privé" in refused.value.message
    stored = await Signatory.get(slug="bibus")
    assert stored.adapter == "email"
