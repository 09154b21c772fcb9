"""FranceConnect login against a real OpenID provider running on a local port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests.models import RightsRequest
from desk.residents.models import Resident, ResidentIdentity
from desk.settings import Settings
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.desk.residents.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGN_USERINFO,
    SPOIL_ID_TOKEN,
    SPOIL_USERINFO,
    Provider,
    running_provider,
)
from tests.factories import make_resident, make_signatory


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    return replace(
        settings,
        franceconnect_issuer=provider.url,
        franceconnect_client_id=CLIENT_ID,
        franceconnect_client_secret=CLIENT_SECRET,
    )


@pytest.fixture
async def net() -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser talking to the provider (over real HTTP)."""
    async with httpx.AsyncClient(timeout=10) as browser:
        yield browser


async def set_user(provider: Provider, sub: str, **claims: object) -> None:
    """The provider's account `sub`, with the claims it will vouch for."""
    claims.setdefault("acr", "eidas1")
    async with httpx.AsyncClient(timeout=10) as admin:
        response = await admin.put(f"{provider.url}/users/{sub}", json=claims)
    assert response.status_code == 204


async def start(client: httpx.AsyncClient) -> str:
    """Press the FranceConnect button; returns the provider's authorization URL."""
    response = await post_form(client, "/franceconnect/connexion", {})
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def consent(net: httpx.AsyncClient, authorize_url: str, sub: str, action: str = "") -> str:
    """The person logs in at the provider; returns the desk path it sends them back to."""
    data = {"sub": sub, **({"action": action} if action else {})}
    answer = await net.post(authorize_url, data=data)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.netloc == "testserver" and back.path == "/franceconnect/retour"
    return f"{back.path}?{back.query}"


def with_param(url: str, **values: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(values)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def fc_login(client: httpx.AsyncClient, net: httpx.AsyncClient, sub: str) -> httpx.Response:
    return await client.get(await consent(net, await start(client), sub))


async def test_the_button_shows_only_when_configured(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    page = await client.get("/connexion")
    assert "S&#39;identifier avec" in page.text and "FranceConnect</span>" in page.text
    assert 'action="/franceconnect/connexion"' in page.text
    app.state.settings = replace(settings, franceconnect_client_id="")
    assert "/franceconnect/connexion" not in (await client.get("/connexion")).text
    refused = await post_form(client, "/franceconnect/connexion", {})
    assert refused.status_code == 400
    assert "n'est pas proposée par ce guichet" in page_text(refused)


async def test_a_first_login_creates_the_account_with_minimal_data(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-sub-1", email="Nouvelle@Exemple.fr", email_verified=True)
    authorize_url = await start(client)
    asked = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(provider.url + "/oauth2/authorize")
    assert asked["scope"] == ["openid email"]
    assert asked["acr_values"] == ["eidas1"] and asked["nonce"] and asked["state"]
    done = await client.get(await consent(net, authorize_url, "fc-sub-1"))
    assert done.status_code == 303 and done.headers["location"] == "/mon-espace"
    assert (await client.get("/mon-espace")).status_code == 200

    resident = await Resident.get(email="nouvelle@exemple.fr")
    identity = await ResidentIdentity.get(provider="franceconnect", subject="fc-sub-1")
    assert identity.resident_id == resident.id  # type: ignore[attr-defined]
    logins = await AuditRecord.filter(action="resident.login")
    assert [(r.actor, r.detail) for r in logins] == [
        (f"resident:{resident.id}", {"method": "franceconnect"})
    ]
    # Again: the same account, found by its FranceConnect subject.
    await post_form(client, "/deconnexion", {})
    assert (await fc_login(client, net, "fc-sub-1")).status_code == 303
    assert await Resident.all().count() == 1


async def test_an_email_account_is_linked_not_duplicated(
    client: httpx.AsyncClient,
    net: httpx.AsyncClient,
    provider: Provider,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    await log_in(client, worker, mail_sink, "lina@exemple.fr")
    await post_form(client, "/deconnexion", {})
    before = await Resident.get(email="lina@exemple.fr")
    await set_user(provider, "fc-lina", email="lina@exemple.fr", email_verified=True)
    done = await fc_login(client, net, "fc-lina")
    assert done.status_code == 303
    dashboard = await client.get("/mon-espace")
    assert "FranceConnect est maintenant relié à votre compte" in page_text(dashboard)
    assert await Resident.all().count() == 1
    identity = await ResidentIdentity.get(subject="fc-lina")
    assert identity.resident_id == before.id  # type: ignore[attr-defined]
    # And the email link still opens the same account.
    await post_form(client, "/deconnexion", {})
    await log_in(client, worker, mail_sink, "lina@exemple.fr")
    assert await Resident.all().count() == 1


async def test_an_unverified_address_never_opens_an_existing_account(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await make_resident("cible@exemple.fr")
    await set_user(provider, "fc-intrus", email="cible@exemple.fr", email_verified=False)
    refused = await fc_login(client, net, "fc-intrus")
    assert refused.status_code == 400
    assert "adresse électronique vérifiée" in page_text(refused)
    assert (await client.get("/mon-espace")).status_code == 303
    assert await ResidentIdentity.all().count() == 0


async def test_a_signed_userinfo_is_verified_with_the_provider_keys(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-v2", email="v2@exemple.fr", email_verified=True)
    provider.app.config[SIGN_USERINFO] = True
    try:
        done = await fc_login(client, net, "fc-v2")
    finally:
        provider.app.config[SIGN_USERINFO] = False
    assert done.status_code == 303
    assert await Resident.filter(email="v2@exemple.fr").exists()


async def test_a_badly_signed_userinfo_logs_nobody_in(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-v2-faux", email="faux@exemple.fr", email_verified=True)
    provider.app.config.update({SIGN_USERINFO: True, SPOIL_USERINFO: True})
    try:
        refused = await fc_login(client, net, "fc-v2-faux")
    finally:
        provider.app.config.update({SIGN_USERINFO: False, SPOIL_USERINFO: False})
    assert refused.status_code == 400
    assert "signature invalide" in page_text(refused)
    assert (await client.get("/mon-espace")).status_code == 303
    assert await Resident.all().count() == 0


async def test_a_forged_id_token_logs_nobody_in(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-sig", email="sig@exemple.fr", email_verified=True)
    for how in ("signature", "none", "hs256", "other-key"):
        provider.app.config[SPOIL_ID_TOKEN] = how
        try:
            refused = await fc_login(client, net, "fc-sig")
        finally:
            provider.app.config[SPOIL_ID_TOKEN] = False
        assert refused.status_code == 400, how
        assert "signature invalide" in page_text(refused), how
        assert (await client.get("/mon-espace")).status_code == 303
    assert await Resident.all().count() == 0


async def test_a_code_the_provider_never_issued_is_refused(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-code", email="code@exemple.fr", email_verified=True)
    back = await consent(net, await start(client), "fc-code")
    forged = with_param(f"http://testserver{back}", code="code-invente")
    refused = await client.get(forged.removeprefix("http://testserver"))
    assert refused.status_code == 400
    assert "FranceConnect n'a pas pu terminer votre connexion" in page_text(refused)
    assert await Resident.all().count() == 0


async def test_an_unreachable_provider_is_explained(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    app.state.settings = replace(settings, franceconnect_issuer=closed)
    refused = await post_form(client, "/franceconnect/connexion", {})
    assert refused.status_code == 400
    assert "Réessayez dans quelques minutes" in page_text(refused)


async def test_a_wrong_or_missing_acr_is_refused(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-faible", email="faible@exemple.fr", email_verified=True, acr="low")
    refused = await fc_login(client, net, "fc-faible")
    assert refused.status_code == 400
    assert "niveau de sécurité" in page_text(refused)
    await set_user(provider, "fc-sans", email="sans@exemple.fr", email_verified=True, acr="")
    assert (await fc_login(client, net, "fc-sans")).status_code == 400
    assert await Resident.all().count() == 0
    # A stronger level than the one asked for is fine.
    await set_user(provider, "fc-fort", email="fort@exemple.fr", email_verified=True, acr="eidas2")
    assert (await fc_login(client, net, "fc-fort")).status_code == 303


async def test_state_and_nonce_must_be_the_ones_this_browser_sent(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-rejeu", email="rejeu@exemple.fr", email_verified=True)
    # A state this browser never sent.
    forged_state = with_param(await start(client), state="etat-invente")
    refused = await client.get(await consent(net, forged_state, "fc-rejeu"))
    assert refused.status_code == 400
    assert "ne correspond à aucune connexion commencée" in page_text(refused)
    # The right state, but the provider was handed another nonce.
    other_nonce = with_param(await start(client), nonce="nonce-invente")
    refused = await client.get(await consent(net, other_nonce, "fc-rejeu"))
    assert refused.status_code == 400
    assert "ne correspond pas à la connexion commencée" in page_text(refused)
    # A genuine answer replayed after use.
    back = await consent(net, await start(client), "fc-rejeu")
    assert (await client.get(back)).status_code == 303
    await post_form(client, "/deconnexion", {})
    assert (await client.get(back)).status_code == 400
    assert (await client.get("/mon-espace")).status_code == 303
    assert await AuditRecord.filter(action="resident.login").count() == 1


async def test_denied_consent_is_explained(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-non", email="non@exemple.fr", email_verified=True)
    back = await consent(net, await start(client), "fc-non", action="deny")
    refused = await client.get(back)
    assert refused.status_code == 400
    assert "Vous avez annulé la connexion avec FranceConnect" in page_text(refused)
    assert 'href="/connexion"' in refused.text
    assert await Resident.all().count() == 0


async def test_logout_goes_through_the_provider_end_session(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await set_user(provider, "fc-out", email="out@exemple.fr", email_verified=True)
    await fc_login(client, net, "fc-out")
    out = await post_form(client, "/deconnexion", {})
    assert out.status_code == 302
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        provider.url + "/oauth2/end_session"
    )
    params = parse_qs(target.query)
    assert params["post_logout_redirect_uri"] == ["http://testserver/franceconnect/deconnexion"]
    assert params["id_token_hint"][0].count(".") == 2 and params["state"][0]
    # The desk's own session is already over.
    assert (await client.get("/mon-espace")).status_code == 303

    # At the provider, the person confirms; it sends them back with our state.
    redirect = f"{params['post_logout_redirect_uri'][0]}?state={params['state'][0]}"
    confirmed = await net.post(
        provider.url + "/oauth2/end_session/confirm", data={"redirect_uri": redirect}
    )
    assert confirmed.status_code == 302
    back = urlsplit(confirmed.headers["location"])
    home = await client.get(f"{back.path}?{back.query}")
    assert home.status_code == 303 and home.headers["location"] == "/"
    assert "déconnecté du guichet et de FranceConnect" in page_text(await client.get("/"))
    # A return with a state we never sent is answered, in French, without a 500.
    stray = await client.get("/franceconnect/deconnexion?state=inconnu")
    assert stray.status_code == 400 and "bien déconnecté" in page_text(stray)


async def test_requests_filed_after_franceconnect_carry_that_assurance(
    client: httpx.AsyncClient, net: httpx.AsyncClient, provider: Provider
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await set_user(provider, "fc-depot", email="depot@exemple.fr", email_verified=True)
    await fc_login(client, net, "fc-depot")
    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "discovery", "signatory": "eau-du-ponant"}
    )
    assert filed.status_code == 303
    request = await RightsRequest.get()
    assert request.assurance == "franceconnect"
