"""A signatory contests an alert from its space; the committee decides; the decision is public,
without personal data, and the DPO hears of it by mail."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from desk.charter import alerts, contests
from desk.charter.alerts import Thresholds
from desk.charter.models import Alert, AlertContest, AlertLevel
from desk.core import clock
from desk.core.errors import DeskError
from desk.mail.sink import MailSink
from desk.organisations import services as organisation_services
from desk.organisations.models import OrganisationMember
from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from tests.desk.organisations.support import member_log_in
from tests.desk.organisations.test_space import DPO, EDITOR, _candidate
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_signatory

COMMITTEE = "comite@exemple.invalid"


async def _alert(signatory: Signatory, level: AlertLevel = AlertLevel.REMINDER) -> Alert:
    return await Alert.create(
        signatory=signatory,
        level=level,
        reason="1 demande d'habitant sans réponse définitive après la date limite (n° 7).",
        delivery_ids=[7],
        created_at=clock.now() - timedelta(days=2),
    )


async def test_the_dpo_answers_and_contests_and_the_committee_withdraws_the_alert(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    alert = await _alert(signatory)
    other = await _alert(await make_signatory("bibus", name="Bibus"))
    assert (await member_log_in(client, worker, mail_sink, DPO)).status_code == 303

    page = text(await client.get("/organisation/alertes"))
    assert "Alerte 1 : rappel" in page and "Contester cette alerte" in page
    assert "Bibus" not in page

    answer_url = f"/organisation/alertes/{alert.id}/reponse"
    empty = await post_form(client, answer_url, {"explanation": " ", "plan": "x"})
    assert empty.status_code == 422 and "Écrivez votre explication" in text(empty)
    absurd = await post_form(client, answer_url, {"explanation": "x" * 50_000, "plan": "x"})
    assert absurd.status_code == 422 and "trop long" in text(absurd)
    answered = await post_form(
        client, answer_url, {"explanation": "Un agent absent.", "plan": "Un suppléant nommé."}
    )
    assert answered.status_code == 303
    assert "Votre réponse est enregistrée" in text(await client.get("/organisation/alertes"))

    contest_url = f"/organisation/alertes/{alert.id}/contestation"
    for reason, words, status in (
        ("", "Écrivez pourquoi vous contestez", 422),
        ("x" * 2001, "trop long", 422),
    ):
        refused = await post_form(client, contest_url, {"reason": reason})
        assert refused.status_code == status and words in text(refused)
    foreign = await post_form(
        client, f"/organisation/alertes/{other.id}/contestation", {"reason": "Pas nous."}
    )
    assert foreign.status_code == 404
    bogus = await post_form(client, "/organisation/alertes/９/contestation", {"reason": "x"})
    assert bogus.status_code == 404
    filed = await post_form(
        client, contest_url, {"reason": "La demande n° 7 nous est parvenue après sa date limite."}
    )
    assert filed.status_code == 303
    twice = await post_form(client, contest_url, {"reason": "Encore."})
    assert twice.status_code == 409 and "déjà contesté" in text(twice)
    contest = await AlertContest.get(alert_id=alert.id)

    await client.post("/organisation/deconnexion", data={"csrftoken": client.cookies["csrftoken"]})
    await staff_log_in(client, worker, mail_sink, email=COMMITTEE, role="committee")
    committee = text(await client.get("/comite"))
    assert f"{signatory.name} conteste l'alerte" in committee
    decide_url = f"/comite/contestations/{contest.id}"
    bad = await post_form(client, decide_url, {"outcome": "peut-être", "reasoning": "x"})
    assert bad.status_code == 422 and "Choisissez la décision" in text(bad)
    unreasoned = await post_form(client, decide_url, {"outcome": "upheld", "reasoning": " "})
    assert unreasoned.status_code == 422 and "Écrivez la motivation" in text(unreasoned)
    missing = await post_form(
        client, "/comite/contestations/999999", {"outcome": "upheld", "reasoning": "x"}
    )
    assert missing.status_code == 404
    decided = await post_form(
        client,
        decide_url,
        {"outcome": "upheld", "reasoning": "La demande a été transmise en retard par le guichet."},
    )
    assert decided.status_code == 303
    again = await post_form(client, decide_url, {"outcome": "dismissed", "reasoning": "Non."})
    assert again.status_code == 409

    await alert.refresh_from_db()
    assert alert.withdrawn_at is not None and alert.closed_at is not None
    public = text(await client.get(f"/signataires/{signatory.slug}/alertes"))
    assert "Alerte retirée le" in public
    assert "contestation fondée : l'alerte est retirée" in public
    document = (await client.get(f"/signataires/{signatory.slug}/alertes.json")).json()
    assert document["alerts"][0]["withdrawn_at"] is not None
    assert document["alerts"][0]["contests"][0]["outcome"] == "upheld"
    decisions = text(await client.get("/charte/comite"))
    assert "Contestation d'une alerte" in decisions and "transmise en retard" in decisions

    await worker.run_until_idle()
    mails = mail_sink.to(DPO)
    told = [m for m in mails if "contestation" in m.subject]
    assert len(told) == 1 and "transmise en retard" in told[0].text

    # The withdrawn alert's overdue delivery raises no new alert.
    raised = await alerts.evaluate_signatory(
        signatory,
        now=clock.now(),
        thresholds=Thresholds(formal_notice_days=0, rolling_overdue=100, exclusion_days=0),
    )
    assert raised is None


async def test_only_the_dpo_contests_and_the_committee_can_dismiss(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    alert = await _alert(signatory, AlertLevel.FORMAL_NOTICE)
    dpo = await OrganisationMember.get(email=DPO)
    await organisation_services.invite_member(
        inviter=dpo, email=EDITOR, display_name="Rédaction", role="editor"
    )
    assert (await member_log_in(client, worker, mail_sink, EDITOR)).status_code == 303
    page = text(await client.get("/organisation/alertes"))
    assert "Répondre à cette alerte" in page and "Contester cette alerte" not in page
    refused = await post_form(
        client, f"/organisation/alertes/{alert.id}/contestation", {"reason": "Pas juste."}
    )
    assert refused.status_code == 403
    contest = await AlertContest.create(alert=alert, reason="Pas juste.", filed_at=clock.now())
    await client.post("/organisation/deconnexion", data={"csrftoken": client.cookies["csrftoken"]})
    await staff_log_in(client, worker, mail_sink, email=COMMITTEE, role="committee")
    decided = await post_form(
        client,
        f"/comite/contestations/{contest.id}",
        {"outcome": "dismissed", "reasoning": "Les délais étaient connus."},
    )
    assert decided.status_code == 303
    await alert.refresh_from_db()
    assert alert.withdrawn_at is None and alert.closed_at is None
    with pytest.raises(DeskError) as once:
        await contests.contest_alert(
            alert_id=alert.id, signatory_id=signatory.id, reason="Encore.", actor="member:1"
        )
    assert "une alerte se conteste une fois" in once.value.message
    public = text(await client.get(f"/signataires/{signatory.slug}/alertes"))
    assert "contestation rejetée : l'alerte est maintenue" in public
