"""The mediation rules, called directly: mandate scope and expiry, duplicates, audit, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.mediation import services
from desk.mediation.models import (
    AssistedFiling,
    AssistedSession,
    IdentityCheck,
    Mandate,
    MediationEvent,
    ResidentContact,
)
from desk.outbox.worker import Worker
from desk.requests.models import DeliveryEvent, RequestKind
from desk.residents.models import Resident
from desk.staff.models import StaffMember
from desk.staff.services import add_staff
from tests.desk.helppoints.support import directory_entry
from tests.desk.mediation.support import HELP_POINT, run_until_final, two_simulated

YVONNE = services.ContactInput(
    full_name="Yvonne Le Gall", street="3 rue de Kerbonne", postcode="29200", city="Brest"
)


async def _mediator(email: str = "m@guichet.exemple.invalid") -> StaffMember:
    await directory_entry(HELP_POINT)
    return await add_staff(
        email=email, display_name="Maëlle", role="mediator", help_point=HELP_POINT
    )


def _mandate(
    kinds: list[RequestKind] | None = None, ids: list[int] | None = None, months: int = 3
) -> services.MandateInput:
    return services.MandateInput(
        kinds=kinds or [RequestKind.ERASURE], signatory_ids=ids, months=months, paper_signed=True
    )


def test_match_key_ignores_case_accents_spaces_and_punctuation() -> None:
    a = services.match_key("Yvonne Le Gall", ["3 rue de Kerbonne", "29200 BREST"])
    b = services.match_key(" YVONNE le-gall ", ["3, Rue de Kerbonne", "29200 Brest"])
    c = services.match_key("Yvonne Le Gall", ["5 rue de Kerbonne", "29200 BREST"])
    assert a == b != c
    assert services.match_key("Hélène", []) == services.match_key("helene", [])


async def test_duplicates_are_proposed_not_created(app: Starlette) -> None:
    mediator = await _mediator()
    session, _ = await services.open_session(
        mediator=mediator, identity_check=IdentityCheck.KNOWN_TO_HELP_POINT,
        mandate=_mandate(), contact=YVONNE,
    )  # fmt: skip
    with pytest.raises(services.DuplicateResident) as caught:
        await services.open_session(
            mediator=mediator, identity_check=IdentityCheck.DOCUMENT_SHOWN,
            mandate=_mandate(), contact=YVONNE,
        )  # fmt: skip
    assert [r.id for r in caught.value.existing] == [session.resident_id]  # type: ignore[attr-defined]
    assert await Resident.all().count() == 1
    assert await MediationEvent.filter(action="duplicate_proposed").count() == 1
    # Choosing an id that is not among the proposed ones does not open someone else's file.
    stranger = await Resident.create(email="x@exemple.invalid", pseudonym="s" * 20)
    with pytest.raises(services.DuplicateResident):
        await services.open_session(
            mediator=mediator, identity_check=IdentityCheck.DOCUMENT_SHOWN,
            mandate=_mandate(), contact=YVONNE, use_existing_id=stranger.id,
        )  # fmt: skip


async def test_filing_stays_within_the_mandate(app: Starlette) -> None:
    eau, bibus = await two_simulated()
    mediator = await _mediator()
    session, mandate = await services.open_session(
        mediator=mediator, identity_check=IdentityCheck.FRANCECONNECT_ON_SITE,
        mandate=_mandate([RequestKind.ERASURE], [eau.id]), contact=YVONNE,
    )  # fmt: skip
    rid: int = session.resident_id  # type: ignore[attr-defined]
    with pytest.raises(services.MediationRefused) as kind:
        await services.file_for_resident(
            mediator=mediator, resident_id=rid, kind=RequestKind.ACCESS, signatory_ids=[eau.id]
        )
    assert kind.value.message == services.KIND_OUTSIDE
    with pytest.raises(services.MediationRefused) as whom:
        await services.file_for_resident(
            mediator=mediator, resident_id=rid, kind=RequestKind.ERASURE,
            signatory_ids=[eau.id, bibus.id],
        )  # fmt: skip
    assert whom.value.code == "forbidden"
    request = await services.file_for_resident(
        mediator=mediator, resident_id=rid, kind=RequestKind.ERASURE, signatory_ids=[eau.id]
    )
    assert request.filed_via == "assisted"
    filing = await AssistedFiling.get(request_id=request.id)
    assert filing.help_point == HELP_POINT and filing.mediator_id == mediator.id  # type: ignore[attr-defined]
    event = await DeliveryEvent.get(delivery__request_id=request.id, action="file")
    assert event.actor == f"mediator:{mediator.id}"
    assert event.detail == {"mediator_name": "Maëlle", "help_point": HELP_POINT}

    # The session ends at midnight: filing needs the person present again.
    await AssistedSession.filter(id=session.id).update(closes_at=clock.now() - timedelta(hours=1))
    with pytest.raises(services.MediationRefused) as closed:
        await services.file_for_resident(
            mediator=mediator, resident_id=rid, kind=RequestKind.ERASURE, signatory_ids=[eau.id]
        )
    assert closed.value.message == services.SESSION_CLOSED
    # And once the mandate has expired, the resident is out of sight.
    await Mandate.filter(id=mandate.id).update(valid_until=clock.now() - timedelta(seconds=1))
    with pytest.raises(services.MediationRefused) as expired:
        await services.resident_file(mediator=mediator, resident_id=rid)
    assert expired.value.message == services.NO_MANDATE
    refused = await MediationEvent.filter(outcome="refused", resident_ref=rid).count()
    assert refused == 4


async def test_another_mediators_resident_is_not_found(app: Starlette) -> None:
    mine = await _mediator()
    theirs = await _mediator("autre@guichet.exemple.invalid")
    session, _ = await services.open_session(
        mediator=mine, identity_check=IdentityCheck.DOCUMENT_SHOWN,
        mandate=_mandate(), contact=YVONNE,
    )  # fmt: skip
    rid: int = session.resident_id  # type: ignore[attr-defined]
    with pytest.raises(services.MediationRefused) as caught:
        await services.resident_file(mediator=theirs, resident_id=rid)
    assert caught.value.code == "not_found"
    with pytest.raises(services.MediationRefused):
        await services.open_session(
            mediator=theirs, identity_check=IdentityCheck.DOCUMENT_SHOWN,
            mandate=_mandate(), resident_id=rid,
        )  # fmt: skip
    assert (await services.home(mediator=theirs)).residents == []
    event = await MediationEvent.get(mediator_id=theirs.id, action="view_resident")
    assert event.outcome == "refused" and event.resident_ref == rid


async def test_contact_is_purged_six_months_after_the_last_request_closed(
    app: Starlette, worker: Worker
) -> None:
    eau, _ = await two_simulated()
    mediator = await _mediator()
    session, mandate = await services.open_session(
        mediator=mediator, identity_check=IdentityCheck.DOCUMENT_SHOWN,
        mandate=_mandate(months=1), contact=YVONNE,
    )  # fmt: skip
    rid: int = session.resident_id  # type: ignore[attr-defined]
    request = await services.file_for_resident(
        mediator=mediator, resident_id=rid, kind=RequestKind.ERASURE, signatory_ids=[eau.id]
    )
    now = clock.now()
    # Open request: kept whatever the date.
    assert await services.purge_contacts(now=now + timedelta(days=3650)) == 0
    await run_until_final(worker, request.id)
    assert await services.purge_contacts(now=now) == 0
    assert await services.purge_contacts(now=clock.add_months(now, 1 + 5)) == 0
    assert await services.purge_contacts(now=clock.add_months(now, 1 + 6) + timedelta(days=2)) == 1
    assert not await ResidentContact.filter(resident_id=rid).exists()
    # The resident row stays (receipts point at it), with nothing naming the person.
    assert (await Resident.get(id=rid)).email is None
    assert await Mandate.filter(id=mandate.id).exists()
