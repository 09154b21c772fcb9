"""Checking receipts: the public keys, the verifier page, refusals, one verdict per receipt."""

from __future__ import annotations

import html
import json
from pathlib import Path

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.receipts.keys import P256_ORDER, Keyring
from desk.receipts.log import append_all
from desk.receipts.models import Receipt
from desk.receipts.services import receipt_subject
from desk.receipts.verify import verify_receipt
from desk.requests.models import RequestKind
from tests.desk.receipts.conftest import b64, fulfil_all, tamper, unb64
from tests.factories import make_resident
from tests.helpers import csrf_token


async def _post(client: httpx.AsyncClient, token: str) -> httpx.Response:
    csrf = await csrf_token(client, "/verifier")
    return await client.post("/verifier", data={"csrftoken": csrf, "jws": token})


async def test_published_keys_verify_a_receipt_offline_with_joserfc(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    resident = await make_resident("alex@exemple.invalid")
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"], resident=resident)

    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "max-age" in response.headers["cache-control"]
    keys = KeySet.import_key_set(response.json())
    assert all("d" not in key for key in response.json()["keys"]), "a private key was published"

    # Independent of our verifier: a plain JOSE library and the published keys.
    obj = jws.deserialize_compact(receipt.jws, keys, algorithms=["ES256"])
    payload = json.loads(obj.payload)
    assert obj.headers()["typ"] == "desk-receipt+jws"
    assert payload["jti"] == receipt.id
    # A pseudonym for this receipt alone: the resident's own never leaves the desk.
    assert payload["subject"] == receipt_subject(
        pseudonym=resident.pseudonym, receipt_id=receipt.id
    )
    assert resident.pseudonym not in obj.payload.decode()
    assert payload["status"] == "RequestFulfilled"
    assert payload["erased_categories"] == ["coordonnées", "historique de consommation"]
    assert "prev" not in payload
    assert "alex@exemple.invalid" not in obj.payload.decode()


async def test_verifier_page_explains_and_has_a_labelled_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/verifier")
    assert response.status_code == 200
    assert '<label for="jws">' in response.text
    assert 'id="jws" name="jws"' in response.text
    assert "http://testserver/.well-known/jwks.json" in response.text
    assert "Qu'est-ce qu'un reçu" in html.unescape(response.text)


async def test_verifier_accepts_a_real_receipt_and_says_what_was_erased(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    # Just issued: the desk knows it, the log takes it in a few seconds.
    pending = html.unescape((await _post(client, receipt.jws)).text)
    assert "sera inscrit au journal public dans quelques secondes" in pending
    runtime = app.state.runtime
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)

    response = await _post(client, receipt.jws)

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "Reçu authentique" in text
    assert "Données effacées" in text
    assert "coordonnées" in text and "historique de consommation" in text
    assert "factures" in text and "obligation comptable" in text and "10 ans" in text
    assert "Trésor public" in text
    assert "Eau Du Ponant" in text
    assert "Faire effacer ses données" in text
    assert "inscrit au journal public des reçus du guichet (feuille n° 0 sur 1)" in text
    assert f'href="/recus/{receipt.id}"' in text
    assert "camille@exemple.invalid" not in text


async def test_qr_link_verifies_with_a_get(app: Starlette, client: httpx.AsyncClient) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    response = await client.get("/verifier", params={"jws": receipt.jws})
    assert response.status_code == 200
    assert "Reçu authentique" in response.text


async def test_pasted_receipt_with_line_breaks_still_verifies(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    wrapped = "\n".join(receipt.jws[i : i + 60] for i in range(0, len(receipt.jws), 60))
    response = await _post(client, f"  {wrapped}  \n")
    assert response.status_code == 200
    assert "Reçu authentique" in response.text


async def test_tampered_receipt_is_refused_in_french(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    forged = tamper(receipt.jws, lambda p: p.update(erased_categories=["tout"], kept=[]))

    response = await _post(client, forged)

    assert response.status_code == 422
    assert "pas valable" in response.text
    assert "La signature ne correspond pas au contenu" in response.text
    assert "Reçu authentique" not in response.text


async def test_receipt_signed_by_another_key_is_refused(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    payload = unb64(receipt.jws.split(".")[1])
    other = Keyring.load_or_create(tmp_path / "someone-else")

    response = await _post(client, other.sign(payload))
    assert response.status_code == 422
    assert "clé que le guichet ne publie pas" in response.text

    # The forger copies our key id into the header: the signature still gives it away.
    ours = app.state.runtime.keyring.kid
    spoofed = jws.serialize_compact(
        {"alg": "ES256", "kid": ours, "typ": "desk-receipt+jws"}, payload, other.signing_key
    )
    response = await _post(client, spoofed)
    assert response.status_code == 422
    assert "La signature ne correspond pas au contenu" in response.text


def _header(**fields: str) -> str:
    return b64(json.dumps({"typ": "desk-receipt+jws", **fields}).encode())


def _none_alg(payload: bytes) -> str:
    return f"{_header(alg='none')}.{b64(payload)}."


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda t: "", "Collez le texte complet du reçu"),
        (lambda t: "bonjour, voici mon reçu", "trois parties"),
        (lambda t: t[: len(t) // 2], "trois parties"),
        (lambda t: t[:-20], "La signature ne correspond pas"),
        (lambda t: "abc.def.ghi", "illisible"),
        (lambda t: "é" * 50, "trois parties"),
        (lambda t: "x" * 30_000, "beaucoup trop long"),
        (lambda t: _none_alg(unb64(t.split(".")[1])), "« none »"),
        (lambda t: f"{_header(alg='HS256', kid='k')}.{t.split('.')[1]}.AAAA", "ES256"),
        (lambda t: f"{b64(b'[1,2]')}.{t.split('.')[1]}.{t.split('.')[2]}", "illisible"),
        (lambda t: f"{_header(alg='ES256', typ='JWT')}.e30.AAAA", "pas un reçu du guichet"),
    ],
    ids=[
        "empty",
        "text",
        "truncated-half",
        "truncated-signature",
        "not-json",
        "unicode",
        "huge",
        "alg-none",
        "alg-hs256",
        "header-array",
        "wrong-typ",
    ],
)
async def test_garbage_is_refused_with_a_french_reason_never_a_500(
    app: Starlette, client: httpx.AsyncClient, make: object, reason: str
) -> None:
    [receipt] = await fulfil_all(app, slugs=["eau-du-ponant"])
    token = make(receipt.jws)  # type: ignore[operator]

    result = await verify_receipt(token=token, keyring=app.state.runtime.keyring)
    assert not result.valid and result.payload is None
    assert result.reason_fr and reason in result.reason_fr

    response = await _post(client, token)
    assert response.status_code == 422
    # Longer than the field's maximum, it stops at the input guard, as clearly.
    assert "pas valable" in response.text or "trop long" in response.text
    response = await client.get("/verifier", params={"jws": token[:5000]})
    assert response.status_code == 422


async def test_empty_qr_link_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/verifier?jws=")
    assert response.status_code == 422
    assert "Collez le texte complet du reçu" in response.text


async def test_one_persons_receipts_share_no_identifier(app: Starlette) -> None:
    resident = await make_resident()
    first = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"], resident=resident)
    second = await fulfil_all(app, slugs=["brest-metropole-habitat"], resident=resident)
    payloads = [json.loads(unb64(r.jws.split(".")[1])) for r in first + second]
    assert len({p["subject"] for p in payloads}) == 3
    assert all(resident.pseudonym not in r.jws for r in first + second)


def _high_s(token: str) -> str:
    """The other valid encoding of the same ECDSA signature: (r, s) -> (r, n - s)."""
    header, payload, signature = token.split(".")
    raw = unb64(signature)
    s = int.from_bytes(raw[32:], "big")
    return f"{header}.{payload}.{b64(raw[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"


async def test_receipts_are_low_s_and_a_reencoded_signature_gets_the_same_verdict(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus", "brest-metropole-habitat"])
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)
    keys = KeySet.import_key_set(runtime.keyring.jwks())
    for receipt in receipts:
        s = int.from_bytes(unb64(receipt.jws.split(".")[2])[32:], "big")
        assert s <= P256_ORDER // 2, "a receipt was issued with a high-s signature"
        other = _high_s(receipt.jws)
        # Still a valid signature for any JOSE library...
        jws.deserialize_compact(other, keys, algorithms=["ES256"])
        # ...and the desk gives it the verdict of the receipt it re-encodes.
        result = await verify_receipt(token=other, keyring=runtime.keyring)
        assert result.valid and result.issued_here and result.in_log
        assert result.receipt_id == receipt.id
        page = await _post(client, other)
        assert "inscrit au journal public" in html.unescape(page.text)
        assert "ne figure pas dans le journal public" not in html.unescape(page.text)


async def test_a_receipt_of_another_desk_is_authentic_but_not_in_this_log(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    [receipt] = await fulfil_all(
        app, slugs=["eau-du-ponant"], kind=RequestKind.OBJECTION, outcome={"result": "stopped"}
    )
    await Receipt.filter(id=receipt.id).delete()
    response = await _post(client, receipt.jws)
    assert response.status_code == 200
    assert "Reçu authentique" in response.text
    assert "ne figure pas dans le journal public" in html.unescape(response.text)
    assert "cessé d'utiliser les données" in html.unescape(response.text)


async def test_signed_text_that_is_not_a_receipt_is_refused(app: Starlette) -> None:
    keyring = app.state.runtime.keyring
    for body in (b"[]", b'{"jti": "x"}', b"\xff\xfe", b"pas du json"):
        result = await verify_receipt(token=keyring.sign(body), keyring=keyring)
        assert not result.valid
        assert result.reason_fr and "contenu du reçu est illisible ou incomplet" in result.reason_fr


async def test_form_without_receipt_or_far_too_big_is_refused(client: httpx.AsyncClient) -> None:
    csrf = await csrf_token(client, "/verifier")
    response = await client.post("/verifier", data={"csrftoken": csrf})
    assert response.status_code == 422
    assert "Collez le texte complet du reçu" in response.text

    response = await client.post("/verifier", data={"csrftoken": csrf, "jws": "a" * 100_000})
    assert response.status_code in (413, 422)
    assert "trop long" in response.text
