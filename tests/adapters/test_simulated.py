from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from starlette.applications import Starlette

from adapters.base import Envelope
from adapters.simulated import final_answer, holds_data
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.requests import outcomes
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from desk.requests.states import FINAL_STATES
from tests.factories import make_resident, make_signatory

EMAIL = "camille@exemple.invalid"
DECLARATIONS = [
    {
        "code": "traitement-1",
        "title": "Gestion des abonnés 1",
        "data_categories": ["identité", "coordonnées", "factures"],
        "recipients": ["Trésor public"],
    }
]


def _envelope(kind: str, slug: str, email: str = EMAIL, state: str = "acknowledged") -> Envelope:
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    return Envelope(
        delivery_id=1,
        request_reference="DSK-2025-TEST",
        kind=kind,
        signatory_slug=slug,
        signatory_name=slug.title(),
        identifiers={"email": email},
        received_at=moment,
        due_at=moment,
        answer_url="http://testserver/x",
        idempotency_key="delivery-1",
        state=state,
        declarations=DECLARATIONS,
    )


async def _run_until_final(worker: Worker, request_id: int) -> list[Delivery]:
    for _ in range(40):
        await worker.run_until_idle()
        deliveries = await Delivery.filter(request_id=request_id).prefetch_related("signatory")
        if all(d.state in FINAL_STATES for d in deliveries):
            return deliveries
        await asyncio.sleep(0.02)
    raise AssertionError("the simulated signatories never answered")


def test_answers_are_deterministic_and_most_signatories_hold_data() -> None:
    slugs = [f"signataire-{n}" for n in range(400)]
    held = [holds_data(_envelope("discovery", slug)) for slug in slugs]
    assert held == [holds_data(_envelope("discovery", slug)) for slug in slugs]
    assert 0.65 < sum(held) / len(held) < 0.85


def test_every_simulated_answer_passes_the_desks_validation() -> None:
    kinds = {k.value: k for k in RequestKind}
    results: set[str] = set()
    for n in range(60):
        for kind in kinds:
            answer = final_answer(_envelope(kind, f"signataire-{n}", email=f"p{n}@exemple.invalid"))
            assert answer.action == "fulfil"
            clean = outcomes.validate(kinds[kind], answer.outcome, has_file=answer.file is not None)
            results.add(str(clean.stored().get("result")))
            if answer.file is not None:
                export = json.loads(answer.file.content)
                assert export["personne"] == {"email": f"p{n}@exemple.invalid"}
    # Full and partial erasures both occur, the partial one naming its legal reason.
    assert {"erased", "partial", "nothing_held", "stopped"} <= results


async def test_poll_acknowledges_then_gives_a_final_answer() -> None:
    from adapters.base import AdapterContext
    from adapters.simulated import SimulatedAdapter

    async def no_mail(**_: object) -> str:
        raise AssertionError("the simulated adapter sends nothing")

    adapter = SimulatedAdapter(
        AdapterContext(settings={}, send_mail=no_mail, base_url="http://t", options={})
    )
    dispatch = await adapter.deliver(_envelope("erasure", "eau", state="pending"))
    assert dispatch.reference == "simulated-1"
    assert dispatch.poll_after == 4.0
    ack = await adapter.poll(_envelope("erasure", "eau", state="sent"))
    assert ack is not None and ack.action == "acknowledge" and not ack.final
    final = await adapter.poll(_envelope("erasure", "eau", state="extended"))
    assert final is not None and final.final and final.action == "fulfil"


async def test_simulated_signatories_answer_a_discovery_by_themselves(
    app: Starlette, worker: Worker
) -> None:
    signatories = [await make_signatory(f"simule-{n}", adapter="simulated") for n in range(6)]
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)

    deliveries = await _run_until_final(worker, request.id)

    assert len(deliveries) == len(signatories)
    for delivery in deliveries:
        assert delivery.state == DeliveryState.FULFILLED
        assert delivery.dispatch_ref == f"simulated-{delivery.id}"
        actions = [e.action for e in await DeliveryEvent.filter(delivery_id=delivery.id)]
        assert actions == ["file", "send", "acknowledge", "fulfil"]
        assert delivery.outcome is not None
        if delivery.outcome["holds_data"]:
            assert delivery.outcome["declarations"] == ["traitement-1"]
            assert "identité" in delivery.outcome["categories"]
    assert await Receipt.all().count() == len(signatories)


async def test_simulated_access_delivers_a_json_copy(app: Starlette, worker: Worker) -> None:
    # Pick a signatory the simulation says holds data about this resident.
    slug = next(s for s in (f"simule-{n}" for n in range(50)) if holds_data(_envelope("access", s)))
    await make_signatory(slug, adapter="simulated")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)

    (delivery,) = await _run_until_final(worker, request.id)

    assert delivery.state == DeliveryState.FULFILLED
    copy = await AccessCopy.get(delivery_id=delivery.id)
    assert copy.content_type == "application/json"
    assert copy.content is not None
    export = json.loads(copy.content)
    assert export["personne"] == {"email": EMAIL}
    assert export["traitements"][0]["code"] == "traitement-1"


async def test_simulated_erasure_can_be_partial_with_a_legal_reason(
    app: Starlette, worker: Worker
) -> None:
    slug = next(
        s
        for s in (f"simule-{n}" for n in range(200))
        if final_answer(_envelope("erasure", s)).outcome.get("result") == "partial"
    )
    await make_signatory(slug, adapter="simulated")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)

    (delivery,) = await _run_until_final(worker, request.id)

    assert delivery.outcome is not None
    assert delivery.outcome["result"] == "partial"
    (kept,) = delivery.outcome["kept"]
    assert kept["category"] == "factures"
    assert "code de commerce" in kept["legal_basis"]
    assert "factures" not in delivery.outcome["erased_categories"]
    assert await Receipt.filter(delivery_id=delivery.id).exists()


async def test_simulated_objection_is_answered(app: Starlette, worker: Worker) -> None:
    await make_signatory("simule-a", adapter="simulated")
    await make_signatory("simule-b", adapter="simulated")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.OBJECTION)

    deliveries = await _run_until_final(worker, request.id)

    for delivery in deliveries:
        assert delivery.outcome is not None
        assert delivery.outcome["result"] in ("stopped", "nothing_held")
