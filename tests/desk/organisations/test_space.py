"""The organisation's space over real HTTP: its DPO logs in, invites a colleague, keeps its
declarations current; every version is public; another organisation sees none of it."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.organisations import services
from desk.organisations.models import MemberRole, OrganisationMember
from desk.outbox.worker import Worker
from desk.registry.joining import ApplicationForm, submit_application
from desk.registry.models import Declaration, DeclarationVersion, Signatory
from desk.registry.organisations import OrganisationForm, add_organisation
from tests.desk.organisations.support import member_log_in
from tests.desk.staff.support import post_form, text
from tests.factories import make_signatory
from tests.helpers import column, csrf_token

DPO = "dpo@ports-iroise.exemple.invalid"
EDITOR = "redaction@ports-iroise.exemple.invalid"
# A form field is one value or, for checkboxes, several.
DECLARATION: dict[str, str | list[str]] = {
    "code": "badges-portuaires",
    "title": "Badges d'accès au port",
    "purposes": "Délivrer les badges d'accès aux quais.",
    "legal_basis": "legal_obligation",
    "data_categories": "identité\nphotographie",
    "retention": "1 an après la fin de validité du badge",
    "recipient_refs": ["organisation:prefecture-du-finistere", "organisation:caf-du-finistere"],
    "source": "Vous",
    "automated_decisions": "",
    "algorithm_explanation": "",
    "dpia_summary": "",
    "dpia_date": "",
    "dpia_url": "",
    "results_year": "",
    "results_statement": "",
}


async def _register() -> None:
    for name, kind in (("Préfecture du Finistère", "public_body"),
                       ("CAF du Finistère", "public_operator")):  # fmt: skip
        await add_organisation(form=OrganisationForm(name=name, kind=kind), actor="staff:1")


async def _candidate() -> Signatory:
    await _register()
    application = await submit_application(
        form=ApplicationForm(
            name="Régie des Ports de l'Iroise",
            kind="public_operator",
            siret="443061841",
            address="1 quai de la Douane, Brest",
            dpo_name="Maël Le Gall",
            dpo_email=DPO,
            applicant_name="Anne",
            applicant_email="anne@ports-iroise.exemple.invalid",
        )
    )
    _, signatory = await services.accept_application(
        application_id=application.id, reason="", actor="staff:1"
    )
    return signatory


async def test_a_dpo_invites_an_editor_and_keeps_declarations_with_their_history(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    assert (await client.get("/organisation")).status_code == 303
    done = await member_log_in(client, worker, mail_sink, DPO)
    assert done.status_code == 303 and done.headers["location"] == "/organisation"
    home = await client.get("/organisation")
    assert home.status_code == 200
    assert "Espace de Régie des Ports de l'Iroise" in text(home)
    assert home.headers["cache-control"] == "no-store"

    bad_invite = await post_form(
        client, "/organisation/membres", {"email": "x", "display_name": "Lou", "role": "editor"}
    )
    assert bad_invite.status_code == 422
    assert "n'est pas valide" in text(bad_invite)
    invited = await post_form(
        client,
        "/organisation/membres",
        {"email": EDITOR, "display_name": "Lou Rédaction", "role": "editor"},
    )
    assert invited.status_code == 303
    assert "Lou Rédaction" in text(await client.get("/organisation"))

    # A declaration with mistakes, then a good one.
    bad = await post_form(
        client,
        "/organisation/declarations/nouvelle",
        {**DECLARATION, "code": "Pas Un Code", "legal_basis": "magic", "dpia_date": "31/03/2025",
         "automated_decisions": "Tri automatique des demandes"},
    )  # fmt: skip
    assert bad.status_code == 422
    body = text(bad)
    assert "Choisissez la base légale" in body and "AAAA-MM-JJ" in body
    assert "expliquez comment l'algorithme fonctionne" in body
    assert "Délivrer les badges d'accès aux quais." in body  # nothing typed is lost
    created = await post_form(client, "/organisation/declarations/nouvelle", DECLARATION)
    assert created.status_code == 303
    second = await post_form(
        client,
        "/organisation/declarations/nouvelle",
        {**DECLARATION, "code": "abonnes", "title": "Abonnés du port de plaisance"},
    )
    assert second.status_code == 303
    twice = await post_form(client, "/organisation/declarations/nouvelle", DECLARATION)
    assert twice.status_code == 422 and "déjà une déclaration avec ce code" in text(twice)
    await post_form(client, "/organisation/deconnexion", {})

    # The editor logs in, edits: a new public version with a readable diff.
    assert (await member_log_in(client, worker, mail_sink, EDITOR)).status_code == 303
    declaration = await Declaration.get(signatory_id=signatory.id, code="badges-portuaires")
    path = f"/organisation/declarations/{declaration.id}"
    page = await client.get(path)
    assert page.status_code == 200 and "Préfecture du Finistère" in page.text
    edited = await post_form(
        client,
        path,
        {**DECLARATION, "retention": "2 ans", "dpia_summary": "Risque faible.",
         "dpia_date": "2025-03-31", "results_year": "2025",
         "results_statement": "1 200 badges délivrés."},
    )  # fmt: skip
    assert edited.status_code == 303
    # Editors invite nobody.
    forbidden = await post_form(
        client, "/organisation/membres", {"email": "x@y.fr", "display_name": "X", "role": "dpo"}
    )
    assert forbidden.status_code == 403

    history = await client.get(
        f"/signataires/{signatory.slug}/declarations/badges-portuaires/historique"
    )
    assert history.status_code == 200
    shown = text(history)
    assert "Version 2" in shown and "Version 1" in shown
    assert "1 an après la fin de validité du badge" in shown and "2 ans" in shown
    assert "<del>" in history.text and "<ins>" in history.text
    public = text(await client.get(f"/signataires/{signatory.slug}"))
    assert "1 200 badges délivrés." in public and "Risque faible." in public

    retired = await post_form(client, f"{path}/retirer", {})
    assert retired.status_code == 303
    again = await post_form(client, path, DECLARATION)
    assert again.status_code == 409 and "retirée" in text(again)
    numbers = await column(DeclarationVersion.filter(declaration_id=declaration.id), "change")
    assert list(numbers) == ["created", "edited", "retired"]

    rows = (await client.get("/donnees-ouvertes/declaration_history.json")).json()
    mine = [r for r in rows if r["declaration_code"] == "badges-portuaires"]
    assert [r["change"] for r in mine] == ["created", "edited", "retired"]
    assert "retention" in mine[1]["changed_fields"]


async def test_an_organisations_people_see_only_their_organisation(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _candidate()
    other = await make_signatory("eau-du-ponant")
    foreign = await Declaration.filter(signatory_id=other.id).first()
    assert foreign is not None
    await member_log_in(client, worker, mail_sink, DPO)
    assert (await client.get(f"/organisation/declarations/{foreign.id}")).status_code == 404
    edit = await post_form(client, f"/organisation/declarations/{foreign.id}", DECLARATION)
    assert edit.status_code == 404
    retire = await post_form(client, f"/organisation/declarations/{foreign.id}/retirer", {})
    assert retire.status_code == 404
    assert (await client.get("/organisation/declarations/abc")).status_code == 404
    # A staff session opens nothing here, and a member session opens no staff page.
    assert (await client.get("/back-office")).status_code == 303
    member = await OrganisationMember.get(email=DPO)
    assert member.role == MemberRole.DPO


async def test_unknown_addresses_get_the_same_page_and_no_mail(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    token = await csrf_token(client, "/organisation/connexion")
    sent = await client.post(
        "/organisation/connexion",
        data={"csrftoken": token, "email": "personne@exemple.invalid"},
    )
    assert sent.status_code == 200 and "Si cette adresse a un accès" in text(sent)
    await worker.run_until_idle()
    assert not mail_sink.to("personne@exemple.invalid")
    bad = await client.post(
        "/organisation/connexion", data={"csrftoken": token, "email": "pas-une-adresse"}
    )
    assert bad.status_code == 422
