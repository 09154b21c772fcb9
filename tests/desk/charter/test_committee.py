"""The ethics committee decides on exclusion proposals, with its reasoning; exclusion is public,
stops new requests, and residents with open requests are told what they can do."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
import pytest

from desk.charter import alerts
from desk.charter.alerts import Thresholds
from desk.charter.models import Alert, AlertLevel, CommitteeDecision
from desk.core import clock
from desk.core.errors import DeskError
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.desk.charter.support import install_clock, one_delivery
from tests.desk.staff.support import post_form, staff_log_in
from tests.factories import make_resident, make_signatory

FAST = Thresholds(formal_notice_days=0, rolling_overdue=100, exclusion_days=0)
RESIDENT = "camille@exemple.invalid"


async def _proposal(monkeypatch: pytest.MonkeyPatch) -> tuple[Signatory, Delivery, Alert]:
    signatory = await make_signatory(
        "eau-du-ponant", name="Eau du Ponant", dpo_email="dpo@eau.exemple.invalid"
    )
    resident = await make_resident(RESIDENT)
    delivery = await one_delivery(signatory, resident.id)
    fake = install_clock(monkeypatch)
    fake.moment = delivery.due_at + timedelta(hours=1)
    for _ in range(3):
        await alerts.evaluate_alerts(now=clock.now(), thresholds=FAST)
    proposal = await Alert.get(level=AlertLevel.EXCLUSION_PROPOSED)
    monkeypatch.undo()  # staff login links are checked against real time
    return signatory, delivery, proposal


async def test_the_committee_excludes_with_reasoning_and_residents_are_told(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signatory, delivery, proposal = await _proposal(monkeypatch)
    await worker.run_until_idle()
    await staff_log_in(client, worker, mail_sink, email="comite@exemple.invalid", role="committee")

    page = await client.get("/comite")
    assert page.status_code == 200
    assert "Eau du Ponant" in html.unescape(page.text)

    url = f"/comite/propositions/{proposal.id}/decision"
    empty = await post_form(client, url, {"outcome": "excluded", "reasoning": "  "})
    assert empty.status_code == 422
    assert "Écrivez la motivation de la décision" in html.unescape(empty.text)
    no_conditions = await post_form(
        client, url, {"outcome": "kept_with_conditions", "reasoning": "Bonne foi"}
    )
    assert no_conditions.status_code == 422
    assert "conditions du maintien" in html.unescape(no_conditions.text)
    assert await CommitteeDecision.all().count() == 0

    done = await post_form(
        client,
        url,
        {"outcome": "excluded", "reasoning": "Aucune réponse malgré trois alertes."},
    )
    assert done.status_code == 303
    again = await post_form(client, url, {"outcome": "kept", "reasoning": "Non"})
    assert again.status_code == 409

    await signatory.refresh_from_db()
    assert signatory.charter_status == CharterStatus.EXCLUDED
    register = html.unescape((await client.get("/signataires/eau-du-ponant")).text)
    assert "Exclu" in register
    public = html.unescape((await client.get("/signataires/eau-du-ponant/alertes")).text)
    assert "Exclusion de la charte" in public and "Aucune réponse malgré trois alertes." in public
    assert await Alert.filter(closed_at__isnull=True).count() == 0

    await worker.run_until_idle()
    told = [m for m in mail_sink.to(RESIDENT) if "exclu" in m.subject]
    assert len(told) == 1
    assert "dpo@eau.exemple.invalid" in told[0].text
    assert "https://www.cnil.fr/fr/plaintes" in told[0].text

    # No new request reaches an excluded signatory.
    other = await make_signatory("bibus")
    resident = await make_resident("dominique@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    targets = await Delivery.filter(request_id=request.id).values("signatory_id")
    assert [t["signatory_id"] for t in targets] == [other.id]
    with pytest.raises(DeskError):
        await file_request(
            resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[signatory.id]
        )
    # Excluded signatories are no longer evaluated.
    later = await alerts.evaluate_alerts(now=delivery.due_at + timedelta(days=90), thresholds=FAST)
    assert [a.signatory_id for a in later] == [other.id]  # type: ignore[attr-defined]


async def test_kept_with_conditions_keeps_the_signatory(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signatory, _, proposal = await _proposal(monkeypatch)
    await staff_log_in(client, worker, mail_sink, email="admin@exemple.invalid", role="admin")
    done = await post_form(
        client,
        f"/comite/propositions/{proposal.id}/decision",
        {
            "outcome": "kept_with_conditions",
            "reasoning": "Premier manquement.",
            "conditions": "Répondre à tout sous 15 jours.",
        },
    )
    assert done.status_code == 303
    await signatory.refresh_from_db()
    assert signatory.charter_status == CharterStatus.SIGNED
    decision = await CommitteeDecision.get(alert_id=proposal.id)
    assert decision.conditions == "Répondre à tout sous 15 jours."


async def test_only_committee_members_and_admins_see_the_committee(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    anonymous = await client.get("/comite")
    assert anonymous.status_code == 303
    await staff_log_in(client, worker, mail_sink, email="med@exemple.invalid", role="mediator")
    refused = await client.get("/comite")
    assert refused.status_code == 403
    posted = await post_form(client, "/comite/propositions/1/decision", {"outcome": "kept"})
    assert posted.status_code == 403
