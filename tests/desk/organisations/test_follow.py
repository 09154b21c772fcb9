"""Self-evaluations and the organisation's own statistics, from its space."""

from __future__ import annotations

import httpx

from desk.audit.models import AuditRecord
from desk.charter.models import SelfEvaluation
from desk.charter.selfeval import QUESTIONS
from desk.mail.sink import MailSink
from desk.organisations.models import OrganisationMember
from desk.outbox.worker import Worker
from desk.requests.models import RequestKind
from desk.requests.services import file_request
from tests.desk.organisations.support import member_log_in
from tests.desk.staff.support import post_form, text
from tests.factories import make_resident, make_signatory

DPO = "dpo@eau-du-ponant.exemple.invalid"
ALL_YES = {key: "yes" for key, _ in QUESTIONS}


async def test_a_member_files_the_yearly_self_evaluation_with_the_charter_function(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant")
    other = await make_signatory("bibus")
    await OrganisationMember.create(signatory=signatory, email=DPO, display_name="D", role="dpo")
    await member_log_in(client, worker, mail_sink, DPO)
    page = await client.get("/organisation/auto-evaluations")
    assert page.status_code == 200 and "Aucune auto-évaluation déposée" in text(page)

    missing = await post_form(client, "/organisation/auto-evaluations", {"register": "yes"})
    assert missing.status_code == 422 and "Répondez à chacune des six questions" in text(missing)
    assert 'value="yes" checked' in missing.text  # what was chosen is kept
    odd = await post_form(client, "/organisation/auto-evaluations", {**ALL_YES, "dpo": "maybe"})
    assert odd.status_code == 422
    absurd = await post_form(
        client, "/organisation/auto-evaluations", {**ALL_YES, "dpo_comment": "c" * 50_000}
    )
    assert absurd.status_code in (400, 413, 422) and "trop long" in text(absurd)
    filed = await post_form(
        client, "/organisation/auto-evaluations",
        {**ALL_YES, "training": "partly", "training_comment": "Deux agents formés sur cinq."},
    )  # fmt: skip
    assert filed.status_code == 303
    shown = text(await client.get("/organisation/auto-evaluations"))
    assert "Deux agents formés sur cinq." in shown and "En partie" in shown
    year = (await SelfEvaluation.get(signatory_id=signatory.id)).year
    public = text(await client.get(f"/signataires/eau-du-ponant/auto-evaluation/{year}"))
    assert "Deux agents formés sur cinq." in public
    assert await SelfEvaluation.filter(signatory_id=signatory.id).count() == 1
    assert not await SelfEvaluation.filter(signatory_id=other.id).exists()
    dpo = await OrganisationMember.get(email=DPO)
    assert await AuditRecord.filter(
        actor=f"member:{dpo.id}", action="charter.self_evaluation_filed"
    ).exists()


async def test_the_organisation_sees_its_own_statistics_only(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant")
    other = await make_signatory("bibus")
    await OrganisationMember.create(signatory=signatory, email=DPO, display_name="D", role="dpo")
    resident = await make_resident()
    await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, signatory_ids=[signatory.id]
    )
    for _ in range(3):
        await file_request(
            resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[other.id]
        )
    await member_log_in(client, worker, mail_sink, DPO)
    page = await client.get("/organisation/statistiques")
    assert page.status_code == 200
    body = text(page)
    assert "Demandes reçues</th><td>1</td>" in body
    assert "dont : effacement</th><td>1</td>" in body
    for junk in ("1999", "abcd", "9" * 300, "2022%00"):
        odd = await client.get(f"/organisation/statistiques?annee={junk}")
        assert odd.status_code in (200, 400), junk
    empty = await client.get("/organisation/statistiques?annee=2022")
    assert empty.status_code == 200 and "Aucune demande reçue" in text(empty)
