"""Forged, expired, tampered and replayed tokens of every kind get a clear refusal.

Login links, partner answer links, signatory charter links, access-copy downloads, deep links,
partner bearer tokens, CSRF tokens and receipts.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from joserfc import jwt
from starlette.applications import Starlette

from desk.charter import alerts
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.partners import tokens
from desk.receipts.models import Receipt
from desk.requests import links, transitions
from desk.requests.effects import UploadedFile
from desk.requests.models import AccessCopy, Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents.auth import resident_next
from desk.residents.models import Resident
from tests.desk.partners.token_support import real_secret
from tests.desk.residents.helpers import log_in, mailed_link, page_text
from tests.desk.staff.support import staff_link
from tests.factories import make_signatory
from tests.helpers import csrf_token
from tests.security.world import bearer_headers

EMAIL = "token.test@exemple.invalid"
DAY = 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _old_serializer(secret: str, salt: str, age: int) -> URLSafeTimedSerializer:
    """Signs as the desk does, but dated `age` seconds ago."""

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(secret, salt=salt, signer=Backdated)


def _swap_payload(token: str, payload: dict[str, Any]) -> str:
    """An itsdangerous token with another payload but the original timestamp and signature."""
    _, stamp, signature = token.split(".")
    return f"{_b64(json.dumps(payload, separators=(',', ':')).encode())}.{stamp}.{signature}"


async def test_login_links_forged_expired_replayed_or_for_staff_are_refused(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "test-secret-key-not-for-production"
    forged = URLSafeTimedSerializer("another-secret", salt="desk.login").dumps("x" * 43)
    for token in ("n-importe-quoi", forged, "a" * 5000, "%00", "%2e%2e"):
        page = await client.get(f"/connexion/{token}")
        assert page.status_code == 404, token
        # "%00" and an address segment longer than any token stop at the input guard's 404.
        assert token in ("%00", "a" * 5000) or "pas valide" in page_text(page)
        posted = await client.post(
            f"/connexion/{token}", data={"csrftoken": await csrf_token(client)}
        )
        assert posted.status_code == 404

    # A staff member's link never opens a resident space, even though the desk signed it.
    await Resident.create(email="agent.token@exemple.invalid", pseudonym="p" * 32)
    from desk.staff.services import add_staff

    await add_staff(email="agent.token@exemple.invalid", display_name="Agent", role="admin")
    staff_path = await staff_link(client, worker, mail_sink, "agent.token@exemple.invalid")
    crossed = await client.get(staff_path.replace("/equipe/connexion/", "/connexion/"))
    assert crossed.status_code == 404

    # Replayed: the link that logged the resident in is spent.
    await log_in(client, worker, mail_sink, EMAIL)
    used = next(link for link in mail_sink.to(EMAIL)[-1].links if "/connexion/" in link)
    path = used.removeprefix("http://testserver")
    again = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert again.status_code == 410
    assert "déjà été utilisé" in page_text(again)

    # Expired: a fresh link opened 11 minutes later.
    fresh = (await mailed_link(client, worker, mail_sink, EMAIL)).removeprefix("http://testserver")
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    monkeypatch.setattr(time, "time", lambda: later.timestamp())
    expired = await client.get(fresh)
    assert expired.status_code == 410
    assert "expiré" in page_text(expired)
    assert secret not in expired.text


async def _delivery(worker: Worker, kind: RequestKind = RequestKind.ACCESS) -> Delivery:
    x = await make_signatory("eau-jeton", name="Eau Jeton")
    await make_signatory("bus-jeton", name="Bus Jeton")
    resident = await Resident.get_or_none(email=EMAIL) or await Resident.create(
        email=EMAIL, pseudonym="q" * 32
    )
    request = await file_request(resident_id=resident.id, kind=kind, signatory_ids=[x.id])
    await worker.run_until_idle()
    return await Delivery.get(request_id=request.id)


async def test_partner_answer_and_charter_links_forged_expired_tampered_replayed(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    secret = app.state.settings.secret_key
    delivery = await _delivery(worker, RequestKind.DISCOVERY)
    other = await Delivery.filter(id__not=delivery.id).first()
    good = links.answer_token(secret, delivery_id=delivery.id, signatory_id=delivery.signatory_id)  # type: ignore[attr-defined]
    y_id = delivery.signatory_id + 1  # type: ignore[attr-defined]
    age = app.state.settings.answer_link_max_age + DAY
    cases = {
        "forged": (URLSafeTimedSerializer("other", salt=links.SALT).dumps({"d": 1, "s": 1}), 404),
        "expired": (
            _old_serializer(secret, links.SALT, age).dumps(
                {"d": delivery.id, "s": delivery.signatory_id}  # type: ignore[attr-defined]
            ),
            410,
        ),
        "tampered": (_swap_payload(good, {"d": delivery.id + 1, "s": y_id}), 404),
        "other signatory": (
            links.answer_token(secret, delivery_id=delivery.id, signatory_id=y_id),
            404,
        ),
        "garbage": ("....", 404),
    }
    assert other is None or other.id != delivery.id
    for name, (token, status) in cases.items():
        page = await client.get(f"/partenaires/reponse/{token}")
        assert page.status_code == status, name
        assert "no-store" in page.headers["cache-control"]
        form = {"csrftoken": await csrf_token(client), "action": "acknowledge"}
        posted = await client.post(f"/partenaires/reponse/{token}", data=form)
        assert posted.status_code == status, name
    assert delivery.state == (await Delivery.get(id=delivery.id)).state  # nothing was answered

    # Replayed: the link still opens the page, but a second answer changes nothing.
    form = {"csrftoken": await csrf_token(client), "action": "deny", "reason": "no_match"}
    first = await client.post(f"/partenaires/reponse/{good}", data=form)
    assert first.status_code == 303
    second = await client.post(f"/partenaires/reponse/{good}", data=form)
    assert second.status_code == 409
    assert "déjà" in page_text(second)

    charter = alerts.signatory_token(secret, signatory_id=delivery.signatory_id)  # type: ignore[attr-defined]
    assert (await client.get(f"/partenaires/charte/{charter}")).status_code == 200
    stale = _old_serializer(secret, alerts.LINK_SALT, age).dumps({"s": 1})
    assert (await client.get(f"/partenaires/charte/{stale}")).status_code == 410
    assert (await client.get(f"/partenaires/charte/{good}")).status_code == 404  # other salt
    swapped = _swap_payload(charter, {"s": y_id})
    assert (await client.get(f"/partenaires/charte/{swapped}")).status_code == 404


async def test_copy_download_links_forged_replayed_or_expired(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    runtime = app.state.runtime
    await log_in(client, worker, mail_sink, EMAIL)
    copies: list[AccessCopy] = []
    for _ in range(2):
        delivery = await _delivery(worker) if not copies else await _second(worker)
        await transitions.fulfil(
            delivery_id=delivery.id,
            actor="partner",
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            outcome={"holds_data": True},
            file=UploadedFile("export.csv", "text/csv", b"a;b\n1;2\n"),
        )
        copies.append(await AccessCopy.get(delivery_id=delivery.id))
    for forged in ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "%2e%2e", copies[0].id + "x", "x" * 500):
        response = await client.get(f"/mon-espace/copies/{forged}")
        assert response.status_code == 404, forged
    first = await client.get(f"/mon-espace/copies/{copies[0].id}")
    assert first.status_code == 200 and first.content == b"a;b\n1;2\n"
    # Replayed from another browser, even the same resident's: refused. The browser that
    # took it may take it again for 15 minutes (an interrupted download), not after.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await log_in(other, worker, mail_sink, EMAIL)
        replayed = await other.get(f"/mon-espace/copies/{copies[0].id}")
    assert replayed.status_code == 410
    assert "déjà été ouverte depuis un autre navigateur" in page_text(replayed)
    assert (await client.get(f"/mon-espace/copies/{copies[0].id}")).status_code == 200
    await AccessCopy.filter(id=copies[0].id).update(
        downloaded_at=clock.now() - timedelta(minutes=15, seconds=1)
    )
    late = await client.get(f"/mon-espace/copies/{copies[0].id}")
    assert late.status_code == 410
    assert (await AccessCopy.get(id=copies[0].id)).content is None

    await AccessCopy.filter(id=copies[1].id).update(expires_at=clock.now() - timedelta(hours=1))
    expired = await client.get(f"/mon-espace/copies/{copies[1].id}")
    assert expired.status_code == 410
    assert "expiré" in page_text(expired)
    assert (await AccessCopy.get(id=copies[1].id)).content is None


async def _second(worker: Worker) -> Delivery:
    resident = await Resident.get(email=EMAIL)
    x = await make_signatory("eau-jeton-2")
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[x.id]
    )
    await worker.run_until_idle()
    return await Delivery.get(request_id=request.id)


async def test_deep_links_to_unknown_signatories_and_hostile_next_values(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("eau-profonde")
    for slug in ("inconnu", "%2e%2e", "eau-profonde%00", "x" * 300):
        response = await client.get(f"/signataires/{slug}/mes-donnees")
        assert response.status_code == 404, slug
    known = await client.get("/signataires/eau-profonde/mes-donnees")
    assert known.status_code == 303 and known.headers["location"] == "/connexion"
    for hostile in ("//evil.example/", "https://evil.example/", "/mon-espace/../equipe",
                    "/mon-espace/\\evil", "/mon-espace/\r\nSet-Cookie: x", None, 42):  # fmt: skip
        assert resident_next(hostile) is None


def _jwt(secret: str, issuer: str, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": tokens.AUDIENCE, "sub": "client", "sig": 1, "cs": 1,
        "scope": tokens.SCOPE, "iat": now, "exp": now + 600, "jti": "j",
    }  # fmt: skip
    claims.update(changes)
    present = {name: value for name, value in claims.items() if value is not None}  # None: left out
    return jwt.encode({"alg": "HS256"}, present, tokens._key(secret))


async def test_partner_bearer_tokens_forged_expired_or_unsigned_are_401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    x = await make_signatory("eau-porteur")
    secret, issuer = app.state.settings.secret_key, app.state.runtime.issuer
    good = await bearer_headers(client, x.slug)
    assert (await client.get("/api/v1/deliveries", headers=good)).status_code == 200
    # Each case below differs from a token the API accepts by one defect only.
    client_id, secret_id = await real_secret(x.slug)
    real = {"sub": client_id, "sig": x.id, "cs": secret_id}
    minted = {"Authorization": f"Bearer {_jwt(secret, issuer, **real)}"}
    assert (await client.get("/api/v1/deliveries", headers=minted)).status_code == 200

    header, payload, _ = _jwt(secret, issuer, **real).split(".")
    unsigned_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    cases = {
        "wrong signature": _jwt("another-desk", issuer, **real),
        "expired": _jwt(secret, issuer, **real, iat=1, exp=2),
        "other audience": _jwt(secret, issuer, **real, aud="someone-else"),
        "other issuer": _jwt(secret, "https://evil.example", **real),
        "alg none": f"{unsigned_header}.{payload}.",
        "no signatory": _jwt(secret, issuer, **real | {"sig": str(x.id)}),
        "no client secret": _jwt(secret, issuer, **real | {"cs": None}),
        "client secret as text": _jwt(secret, issuer, **real | {"cs": str(secret_id)}),
        "truncated": f"{header}.{payload}",
        "garbage": "\u00e9" * 50,
    }
    for name, token in cases.items():
        auth = f"Bearer {token}".encode()
        response = await client.get("/api/v1/deliveries", headers={b"Authorization": auth})
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/problem+json")
        assert 'error="invalid_token"' in response.headers["www-authenticate"], name
        assert "invalide ou expiré" in response.json()["detail"]


async def test_csrf_tokens_missing_foreign_or_forged_are_403(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    form = {"email": "pas-une-adresse"}
    mine = await csrf_token(client, "/connexion")
    assert (await client.post("/connexion", data={"csrftoken": mine, **form})).status_code == 422

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        theirs = await csrf_token(other, "/connexion")
        # Another browser's token, ours missing, ours forged with another key: all refused.
        assert (
            await client.post("/connexion", data={"csrftoken": theirs, **form})
        ).status_code == 403
        assert (await client.post("/connexion", data=form)).status_code == 403
        other.cookies.clear()
        no_cookie = await other.post("/connexion", data={"csrftoken": theirs, **form})
        assert no_cookie.status_code == 403
        assert "Formulaire expiré" in page_text(no_cookie)
        from itsdangerous import URLSafeSerializer

        forged = URLSafeSerializer("another-secret", salt="desk.csrf").dumps("t")
        other.cookies.set("csrftoken", forged)
        refused = await other.post("/connexion", data={"csrftoken": forged, **form})
        assert refused.status_code == 403
    header = await client.post("/connexion", data=form, headers={"x-csrftoken": mine})
    assert header.status_code == 422


async def test_tampered_or_unsigned_receipts_are_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    x = await make_signatory("eau-recu")
    resident = await Resident.create(email="recu@exemple.invalid", pseudonym="r" * 32)
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, signatory_ids=[x.id]
    )
    delivery = await Delivery.get(request_id=request.id)
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"result": "erased", "erased_categories": ["tout"]},
    )
    jws = (await Receipt.get(delivery_id=delivery.id)).jws
    header, payload, signature = jws.split(".")
    data = json.loads(_unb64(payload))
    data["kind"] = "access"
    tampered = f"{header}.{_b64(json.dumps(data).encode())}.{signature}"
    unsigned = f"{_b64(json.dumps({'alg': 'none'}).encode())}.{payload}."
    cases = {
        tampered: "La signature ne correspond pas",
        unsigned: "n'est pas signé",
        f"{header}.{payload}": "n'est pas un reçu signé",
    }
    token = await csrf_token(client, "/verifier")
    ok = await client.post("/verifier", data={"csrftoken": token, "jws": jws})
    assert ok.status_code == 200 and "Reçu authentique" in page_text(ok)
    for forged, reason in cases.items():
        response = await client.post("/verifier", data={"csrftoken": token, "jws": forged})
        assert response.status_code == 422
        assert reason in page_text(response)
        assert "Reçu authentique" not in page_text(response)
    # A receipt page for an id that is not a receipt: not found, whatever its shape.
    for bad in ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "x" * 300):
        assert (await client.get(f"/recus/{bad}")).status_code == 404
