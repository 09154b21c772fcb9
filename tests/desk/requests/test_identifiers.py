"""A resident met at a help point, without email, reaches signatories by name and address."""

from __future__ import annotations

from starlette.applications import Starlette

from desk.mediation.models import ResidentContact
from desk.requests.dispatch import build_envelope
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


async def test_envelopes_carry_only_the_identifiers_each_signatory_accepts(app: Starlette) -> None:
    by_name = await make_signatory("eau-du-ponant")
    by_name.accepted_identifiers = ["email", "full_name", "postal_address"]
    await by_name.save()
    email_only = await make_signatory("bibus")
    resident = await make_resident(None)
    await ResidentContact.create(
        resident=resident,
        full_name="Maïwenn Le Goff",
        address_lines=["12 rue de Siam", "29200 Brest"],
        match_key="maiwennlegoff12ruedesiam29200brest",
    )
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    runtime = app.state.runtime
    envelopes = {}
    for delivery in await Delivery.filter(request=request).select_related(
        "request__resident", "signatory"
    ):
        envelopes[delivery.signatory.slug] = await build_envelope(delivery, runtime)
    assert envelopes["eau-du-ponant"].identifiers == {
        "full_name": "Maïwenn Le Goff",
        "postal_address": "12 rue de Siam, 29200 Brest",
    }
    assert envelopes["bibus"].identifiers == {}
    assert email_only.accepted_identifiers == ["email"]
