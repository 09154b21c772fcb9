"""Hostile input: line breaks aimed at mail headers, file names climbing out of their folder,
oversized bodies, and personal data that must stay out of the logs of refused input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from desk.requests.models import AccessCopy, Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents.models import Resident
from tests.desk.mediation.support import log_in_staff, session_form
from tests.desk.residents.helpers import page_text
from tests.desk.staff.support import post_form
from tests.factories import make_signatory
from tests.helpers import csrf_token
from tests.security.world import bearer_headers

PIRATE = "pirate@evil.example"
INJECTION = f"\r\nBcc: {PIRATE}\r\nX-Injected: oui"
EMAIL = "habitant.abus@exemple.invalid"


def _assert_clean(mail_sink: MailSink) -> None:
    mails = mail_sink.messages()
    for mail in mails:
        names = {name.lower() for name, _ in mail.headers}
        assert "bcc" not in names and "x-injected" not in names, mail.headers
        assert all("\n" not in value and "\r" not in value for _, value in mail.headers)
        assert PIRATE not in mail.to
    assert not mail_sink.to(PIRATE)


async def _resident_request(signatory: Signatory, kind: RequestKind, worker: Worker) -> Delivery:
    resident = await Resident.get_or_none(email=EMAIL) or await Resident.create(
        email=EMAIL, pseudonym="a" * 32
    )
    request = await file_request(resident_id=resident.id, kind=kind, signatory_ids=[signatory.id])
    await worker.run_until_idle()
    return await Delivery.get(request_id=request.id)


async def test_line_breaks_in_names_and_free_text_never_add_mail_headers(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    x = await make_signatory("eau-abus", name=f"Eau Abus{INJECTION}")
    auth = await bearer_headers(client, x.slug)
    delivery = await _resident_request(x, RequestKind.ACCESS, worker)
    base = f"/api/v1/deliveries/{delivery.id}"
    extended = await client.post(
        f"{base}/extend",
        json={"reason": f"Beaucoup de demandes.{INJECTION}", "extra_months": 1},
        headers=auth,
    )
    assert extended.status_code == 200, extended.text
    fulfilled = await client.post(
        f"{base}/fulfil",
        data={"outcome": json.dumps({"holds_data": True, "note": f"Voici.{INJECTION}"})},
        files={"copy": (f"export{INJECTION}.json", b"{}", "application/json")},
        headers=auth,
    )
    assert fulfilled.status_code == 200, fulfilled.text
    # A DPO address with a line break in the register: the mail is never sent as written.
    await make_signatory("bus-abus", dpo_email=f"dpo@bus.exemple.invalid{INJECTION}")
    await _resident_request(await Signatory.get(slug="bus-abus"), RequestKind.ERASURE, worker)

    # People type addresses; the mediator types the address of the person they help.
    token = await csrf_token(client, "/connexion")
    typed = await client.post(
        "/connexion", data={"csrftoken": token, "email": f"a@b.fr{INJECTION}"}
    )
    assert typed.status_code == 422
    await log_in_staff(client, worker, mail_sink)
    for name in (f"Yvonne{INJECTION}", "Yvonne\nLe Gall"):
        response = await post_form(
            client,
            "/mediation/seance",
            session_form(mode="email", email=f"yvonne@exemple.invalid{INJECTION}", full_name=name),
        )
        assert response.status_code == 422
    await worker.run_until_idle()

    mails = mail_sink.to(EMAIL)
    subjects = " | ".join(m.subject for m in mails)
    assert "Eau Abus Bcc" in subjects  # the name is there, flattened onto one line
    _assert_clean(mail_sink)


HOSTILE_NAMES = [
    "../../../../etc/passwd.json",
    "..\\..\\..\\windows\\win.ini.csv",
    "/etc/cron.d/evil.json",
    "C:\\Users\\evil.pdf",
    "nul\x00byte.json",
    "ligne\r\nContent-Type: text/html.json",
    ".json",
    "é" * 300 + ".json",
]


def _files_around(tmp_path: Path) -> set[object]:
    """The test's folders, what sits where the hostile names point, and /etc/passwd's date.
    The database's own files (its log, its shared memory, the filings' pulse) are left out."""
    near = [p for place in (Path("/tmp"), Path.cwd()) for p in place.glob("*")]
    hits = {p for p in near if "passwd" in p.name or "evil" in p.name or "win.ini" in p.name}
    ours = {p for p in tmp_path.rglob("*") if not p.name.startswith("desk.sqlite3")}
    return hits | ours | {Path("/etc/passwd").stat().st_mtime}


async def test_uploaded_file_names_are_reduced_to_a_safe_base_name(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, tmp_path: Path
) -> None:
    x = await make_signatory("eau-chemin")
    auth = await bearer_headers(client, x.slug)
    before = _files_around(tmp_path)
    for name in HOSTILE_NAMES:
        delivery = await _resident_request(x, RequestKind.ACCESS, worker)
        content = b"%PDF-1.4 test" if name.endswith(".pdf") else b"{}"
        kind = "application/pdf" if name.endswith(".pdf") else "application/json"
        if name.endswith(".csv"):
            content, kind = b"a;b\n", "text/csv"
        response = await client.post(
            f"/api/v1/deliveries/{delivery.id}/fulfil",
            data={"outcome": json.dumps({"holds_data": True})},
            files={"copy": (name, content, kind)},
            headers=auth,
        )
        if name == ".json":  # nothing left of the name: not a JSON file by its extension
            assert response.status_code == 415
            continue
        assert response.status_code == 200, (name, response.text)
        copy = await AccessCopy.get(delivery_id=delivery.id)
        stored = copy.filename
        assert stored and len(stored) <= 200, name
        assert not any(c in stored for c in "/\\\x00\r\n"), (name, stored)
        assert stored not in (".", "..") and ":" not in stored[:2], (name, stored)
    # Copies live in the database: no file appeared, in the data folder nor where names point.
    assert _files_around(tmp_path) == before


async def test_download_names_cannot_split_headers(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    from tests.desk.residents.helpers import log_in

    x = await make_signatory("eau-entete")
    auth = await bearer_headers(client, x.slug)
    delivery = await _resident_request(x, RequestKind.ACCESS, worker)
    await client.post(
        f"/api/v1/deliveries/{delivery.id}/fulfil",
        data={"outcome": json.dumps({"holds_data": True})},
        files={
            "copy": ('x"; filename=evil.exe\r\nSet-Cookie: a=b.json', b"{}", "application/json")
        },
        headers=auth,
    )
    copy = await AccessCopy.get(delivery_id=delivery.id)
    await log_in(client, worker, mail_sink, EMAIL)
    response = await client.get(f"/mon-espace/copies/{copy.id}")
    assert response.status_code == 200
    assert "set-cookie" not in {k.lower() for k in response.headers if k.lower() != "set-cookie"}
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition
    assert "filename=evil.exe" not in disposition
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_oversized_bodies_are_refused_with_413_and_a_clear_message(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    token = await csrf_token(client, "/connexion")
    big_form = await client.post("/connexion", data={"csrftoken": token, "email": "a" * 400_000})
    assert big_form.status_code == 413
    assert "trop volumineux" in page_text(big_form)

    limit = app.state.settings.upload_max_bytes
    flood = await client.post(
        "/connexion",
        data={"csrftoken": token, "email": "a@b.fr"},
        files={"piece": ("x.bin", b"0" * (limit + 1024 * 1024), "application/octet-stream")},
    )
    assert flood.status_code == 413
    assert "trop volumineux" in page_text(flood)

    x = await make_signatory("eau-lourde")
    auth = await bearer_headers(client, x.slug)
    delivery = await _resident_request(x, RequestKind.ACCESS, worker)
    for method, path in (
        ("POST", f"/api/v1/deliveries/{delivery.id}/extend"),
        ("PUT", "/api/v1/holdings"),
        ("POST", "/api/v1/lineage-events"),
        ("POST", "/api/v1/alerts/1/response"),
        ("PUT", "/api/v1/self-evaluations/2025"),
    ):
        body = {"x": "y" * 5_000_000}
        response = await client.request(method, path, json=body, headers=auth)
        assert response.status_code == 413, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "volumineu" in response.json()["detail"]
    oauth = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "x" * 10_000}
    )
    assert oauth.status_code == 413
    assert "volumineu" in oauth.json()["detail"]
    # Smaller than a form's ceiling, longer than the field's maximum: refused by the input
    # guard, naming the field and its maximum (desk.web.limits).
    verifier = await client.post("/verifier", data={"csrftoken": token, "jws": "x" * 100_000})
    assert verifier.status_code == 422
    assert "« jws » est trop long : 20\u202f000 caractères au plus" in page_text(verifier)


async def test_refused_input_is_logged_without_personal_data(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    name, email = "Yvonne Kerlogue", "yvonne.kerlogue@exemple.invalid"
    token = await csrf_token(client, "/connexion")
    for typed in (email, f"{email}@@", f"  {email.upper()} ", "Yvonne Kerlogue <yvonne@x>"):
        await client.post("/connexion", data={"csrftoken": token, "email": typed})
    await client.post("/connexion", data={"email": email})  # no CSRF token
    await client.post("/equipe/connexion", data={"csrftoken": token, "email": email})
    await client.post("/verifier", data={"csrftoken": token, "jws": f"{name} {email}"})
    await client.get("/verifier", params={"jws": email})
    await client.get(f"/signataires/{email}/mes-donnees")
    x = await make_signatory("eau-journal")
    auth = await bearer_headers(client, x.slug)
    delivery = await _resident_request(x, RequestKind.ACCESS, worker)
    await client.post(
        f"/api/v1/deliveries/{delivery.id}/extend",
        json={"reason": f"{name} {email}", "extra_months": 7},
        headers=auth,
    )
    await log_in_staff(client, worker, mail_sink)
    await post_form(
        client, "/mediation/seance", session_form(full_name=name, identity_check="passeport")
    )
    await post_form(client, "/mediation/seance", session_form(mode="email", email=f"{email}x"))
    await worker.run_until_idle()
    # Not the desk's: aiosmtpd ("mail.log", the test's stand-in for the town's mail server) and
    # httpx (the test's own browser, logging the addresses it asks for).
    outside = ("mail.log", "httpx", "httpcore")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name not in outside)
    assert logged, "nothing was logged at all"
    for personal in (name, "Kerlogue", "kerlogue", email, EMAIL):
        assert personal not in logged


async def test_ids_past_what_the_database_holds_are_not_found_not_an_error(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    """Ten digits fit the old length check but not PostgreSQL's 32-bit integer ids, which
    refused the parameter (a 500): every id in a path is now bounded the same way."""
    too_big = "7488560349"
    x = await make_signatory("eau-grande")
    auth = await bearer_headers(client, x.slug)
    for path in (f"/api/v1/alerts/{too_big}/response", f"/api/v1/deliveries/{too_big}/acknowledge"):
        answer = await client.post(path, json={}, headers=auth)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/problem+json")
    await log_in_staff(client, worker, mail_sink, role="admin", help_point="")
    page = await client.get(f"/back-office/envois/{too_big}")
    assert page.status_code == 404
    assert "introuvable" in page_text(page)
