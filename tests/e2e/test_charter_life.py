"""The charter's whole life, through the real app (HTTP through httpx's ASGI transport, as
test_journey.py), the real SMTP sink and the real worker, on SQLite and PostgreSQL (issue 16's
"Done when"):

an organisation applies → the team accepts it as candidate → its DPO logs in, invites an
editor, files two declarations and a self-evaluation → the team marks its capacity shown → it
signs the charter's version in force → the register, the signatory page, the history page, the
charter page and open data show it → a resident's erasure reaches the DPO's inbox → the DPO
answers there → the resident gets the signed receipt → the resident complains → the committee
asks, the DPO answers in its space, the committee decides → the resident is told, the decision
is published without personal data, and the annual report counts it.

Each actor has their own client (their own cookies): the public, the desk's team, the DPO, the
editor, the resident, the committee.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.charter import selfeval
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.charter_versions import CURRENT
from desk.registry.models import CharterApplication, Signatory
from desk.requests.models import Delivery, DeliveryState
from tests.desk.organisations.support import member_log_in
from tests.desk.organisations.test_joining import APPLICATION
from tests.desk.organisations.test_space import DECLARATION
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.helpers import csrf_token

DPO = "dpo@ports-iroise.exemple.invalid"
EDITOR = "lou@ports-iroise.exemple.invalid"
APPLICANT = "anne@ports-iroise.exemple.invalid"
RESIDENT = "gwen.le-du@exemple.invalid"


@asynccontextmanager
async def _actor(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def _resident_logs_in(client: httpx.AsyncClient, worker: Worker, sink: MailSink) -> None:
    token = await csrf_token(client, "/connexion")
    sent = await client.post("/connexion", data={"csrftoken": token, "email": RESIDENT})
    assert sent.status_code == 200
    await worker.run_until_idle()
    link = next(_path(x) for m in sink.to(RESIDENT) for x in m.links if "/connexion/" in x)
    assert (await client.get(link)).status_code == 200
    logged = await client.post(link, data={"csrftoken": client.cookies["csrftoken"]})
    assert logged.status_code == 303


async def test_the_charter_runs_itself_from_application_to_the_committees_decision(
    client: httpx.AsyncClient, app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    # 1. The organisation applies on the public form; a dated acknowledgement is mailed.
    token = await csrf_token(client, "/charte/rejoindre")
    applied = await client.post("/charte/rejoindre", data={"csrftoken": token, **APPLICATION})
    assert applied.status_code == 200 and "Candidature reçue" in text(applied)
    await worker.run_until_idle()
    assert any("bien reçue" in m.subject for m in mail_sink.to(APPLICANT))
    application = await CharterApplication.get(name=APPLICATION["name"])

    async with _actor(app) as team:
        # 2. The desk's team accepts it as a candidate.
        await staff_log_in(
            team, worker, mail_sink, email="registre@guichet.exemple.invalid", role="register"
        )
        accepted = await post_form(
            team, f"/back-office/candidatures/{application.id}", {"action": "accept", "reason": ""}
        )
        assert accepted.status_code == 303
        signatory = await Signatory.get(siret="44306184100047")
        slug = signatory.slug
        assert "Candidat" in text(await client.get(f"/signataires/{slug}"))
        # The bodies its declarations share data with enter the register of organisations.
        for name, kind in (
            ("Préfecture du Finistère", "public_body"),
            ("CAF du Finistère", "public_operator"),
        ):
            added = await post_form(
                team, "/back-office/organisations", {"name": name, "kind": kind}
            )
            assert added.status_code == 303, text(added)

        # 3. Its DPO logs in, invites an editor, files two declarations and a self-evaluation.
        async with _actor(app) as dpo:
            assert (await member_log_in(dpo, worker, mail_sink, DPO)).status_code == 303
            invited = await post_form(
                dpo,
                "/organisation/membres",
                {"email": EDITOR, "display_name": "Lou Rédaction", "role": "editor"},
            )
            assert invited.status_code == 303
            async with _actor(app) as editor:
                assert (await member_log_in(editor, worker, mail_sink, EDITOR)).status_code == 303
                assert "Lou Rédaction" in text(await editor.get("/organisation"))
            for declaration in (
                DECLARATION,
                {**DECLARATION, "code": "abonnes", "title": "Abonnés du port de plaisance"},
            ):
                filed = await post_form(dpo, "/organisation/declarations/nouvelle", declaration)
                assert filed.status_code == 303, text(filed)
            # The self-evaluation from the space (the same function as the mailed link's).
            answers = {key: "yes" for key, _ in selfeval.QUESTIONS}
            evaluated = await post_form(dpo, "/organisation/auto-evaluations", answers)
            assert evaluated.status_code == 303, text(evaluated)
            year = clock.local(clock.now()).year
            assert (
                await client.get(f"/signataires/{slug}/auto-evaluation/{year}")
            ).status_code == 200

            # 4. The team marks its capacity shown; it signs the version in force.
            status_path = f"/back-office/statut/{slug}"
            for status, reason in (
                ("capacity_shown", "Deux déclarations et une auto-évaluation examinées."),
                ("signed", "Signature au conseil d'administration."),
            ):
                done = await post_form(team, status_path, {"status": status, "reason": reason})
                assert done.status_code == 303, text(done)

            # 5. The public register, the signatory page, the history page, the charter page and
            # open data show all of it.
            assert APPLICATION["name"] in text(await client.get("/signataires"))
            page = text(await client.get(f"/signataires/{slug}"))
            assert f"version {CURRENT.number} de la charte" in page
            assert "Deux déclarations et une auto-évaluation examinées." in page
            history = await client.get(
                f"/signataires/{slug}/declarations/{DECLARATION['code']}/historique"
            )
            assert history.status_code == 200 and str(DECLARATION["title"]) in text(history)
            charter = text(await client.get("/charte"))
            assert f"{APPLICATION['name']}</a></td><td>{CURRENT.number}</td>" in charter
            steps = [
                r["status"]
                for r in (await client.get("/donnees-ouvertes/statuses.json")).json()
                if r["signatory_slug"] == slug
            ]
            assert steps == ["candidate", "capacity_shown", "signed"]
            register = (await client.get("/donnees-ouvertes/signataires.json")).json()
            mine = next(r for r in register if r["slug"] == slug)
            assert mine["charter_version"] == CURRENT.number and len(mine["declarations"]) == 2
            versions = (await client.get("/donnees-ouvertes/declaration_history.json")).json()
            assert {v["declaration_code"] for v in versions if v["signatory_slug"] == slug} == {
                DECLARATION["code"],
                "abonnes",
            }

            # 6. A resident erases their data there; it reaches the DPO's inbox.
            async with _actor(app) as resident:
                await _resident_logs_in(resident, worker, mail_sink)
                erasure = await resident.post(
                    "/mon-espace/demandes",
                    data={
                        "csrftoken": resident.cookies["csrftoken"],
                        "submission_key": secrets.token_urlsafe(16),
                        "kind": "erasure",
                        "signatory": slug,
                    },
                )
                assert erasure.status_code == 303, text(erasure)
                await worker.run_until_idle()
                delivery = await Delivery.get(signatory_id=signatory.id).prefetch_related("request")
                inbox = text(await dpo.get("/organisation/demandes"))
                assert delivery.request.reference in inbox

                # 7. The DPO answers in the inbox; the resident gets the signed receipt.
                answer_path = f"/organisation/demandes/{delivery.id}"
                assert (
                    await post_form(dpo, answer_path, {"action": "acknowledge"})
                ).status_code == 303
                fulfilled = await post_form(
                    dpo,
                    answer_path,
                    {"action": "fulfil", "result": "erased", "erased_categories": "identité"},
                )
                assert fulfilled.status_code == 303
                await worker.run_until_idle()
                await delivery.refresh_from_db()
                assert delivery.state == DeliveryState.FULFILLED
                receipts = {
                    _path(x) for m in mail_sink.to(RESIDENT) for x in m.links if "/recus/" in x
                }
                assert len(receipts) == 1
                (receipt,) = receipts
                compact = (await client.get(receipt + ".jws")).text
                jwks = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
                payload = json.loads(jws.deserialize_compact(compact, jwks).payload)
                assert payload["status"] == "RequestFulfilled"
                assert payload["signatory"]["slug"] == slug and RESIDENT not in compact

                # 8. The resident complains to the committee.
                complaint_path = f"/mon-espace/reclamations/{delivery.id}"
                assert (await resident.get(complaint_path)).status_code == 200
                complained = await post_form(
                    resident,
                    complaint_path,
                    {"text": "Je reçois encore la lettre d'information du port, Gwen Le Du."},
                )
                assert complained.status_code == 303

                async with _actor(app) as committee:
                    # 9. The committee asks, the DPO answers in its space, the committee decides.
                    await staff_log_in(
                        committee, worker, mail_sink, email="comite@guichet.exemple.invalid",
                        role="committee",
                    )  # fmt: skip
                    listing = text(await committee.get("/comite"))
                    found = re.search(r'href="/comite/reclamations/(\d+)"', listing)
                    assert found is not None
                    step = f"/comite/reclamations/{found.group(1)}"
                    asked = await post_form(
                        committee,
                        step,
                        {"action": "ask", "question": "Pourquoi la lettre part-elle encore ?"},
                    )
                    assert asked.status_code == 303
                    await worker.run_until_idle()
                    assert any("réponse" in m.subject for m in mail_sink.to(DPO))
                    questions = text(await dpo.get("/organisation/reclamations"))
                    assert "Pourquoi la lettre part-elle encore ?" in questions
                    answered = await post_form(
                        dpo,
                        f"/organisation/reclamations/{found.group(1)}",
                        {"answer": "Une liste d'envoi oubliée ; elle est effacée."},
                    )
                    assert answered.status_code == 303
                    decided = await post_form(
                        committee,
                        step,
                        {
                            "action": "decide",
                            "outcome": "upheld",
                            "reasoning": "La liste d'envoi devait être effacée avec le reste.",
                        },
                    )
                    assert decided.status_code == 303
                    await worker.run_until_idle()

                # 10. The resident is told at each step; the decision is public without personal
                # data; the annual report counts it.
                told = [m.subject for m in mail_sink.to(RESIDENT) if "réclamation" in m.subject]
                assert len(told) >= 3, told
                assert any("décision" in m.text for m in mail_sink.to(RESIDENT))
                follow = text(await resident.get(complaint_path))
                assert "La liste d'envoi devait être effacée avec le reste." in follow

    decisions = text(await client.get("/charte/comite"))
    assert "Réclamation d'un habitant" in decisions and APPLICATION["name"] in decisions
    assert "Gwen" not in decisions and "liste d'envoi devait" not in decisions
    rows = (await client.get("/donnees-ouvertes/committee_decisions.json")).json()
    assert [(r["kind"], r["outcome"], r["signatory_slug"]) for r in rows] == [
        ("complaint", "upheld", slug)
    ]
    complaints = (await client.get("/donnees-ouvertes/complaints.json")).json()
    assert [(c["status"], c["outcome"]) for c in complaints] == [("closed", "upheld")]
    report = text(await client.get(f"/bilan/{year}"))
    assert "Réclamations des habitants au comité d'éthique : 1 reçues cette année." in report
    assert "1 fondées" in report
