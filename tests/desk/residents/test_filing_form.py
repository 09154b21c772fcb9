"""The resident's filing form names signatories by their slugs, read once (not by the service):
only signed signatories count, and a name that is not (or no longer) one is refused in French
with nothing filed; a double click files one request."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery, RightsRequest
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory

EMAIL = "camille@exemple.invalid"
REFUSED = "Un des organismes choisis n'est pas (ou plus) signataire de la charte."


async def test_the_named_signatories_get_one_delivery_each(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    for slug in ("eau-du-ponant", "bibus", "brest-habitat"):
        await make_signatory(slug)
    await log_in(client, worker, mail_sink, EMAIL)
    form: dict[str, str | list[str]] = {
        "kind": "erasure",
        "signatory": ["bibus", "eau-du-ponant"],
        "submission_key": "k" * 16,
    }
    first = await post_form(client, "/mon-espace/demandes", form)
    again = await post_form(client, "/mon-espace/demandes", form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    slugs = await Delivery.all().values_list("signatory__slug", flat=True)
    assert sorted(str(s) for s in slugs) == ["bibus", "eau-du-ponant"]
    assert await RightsRequest.all().count() == 1


async def test_an_unknown_or_excluded_signatory_is_refused_and_nothing_is_filed(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant")
    excluded = await make_signatory("bibus")
    await Signatory.filter(id=excluded.id).update(charter_status=CharterStatus.EXCLUDED)
    await log_in(client, worker, mail_sink, EMAIL)
    for named in (["eau-du-ponant", "inconnu"], ["bibus"]):
        refused = await post_form(
            client, "/mon-espace/demandes", {"kind": "erasure", "signatory": named}
        )
        assert refused.status_code >= 400
        assert REFUSED in page_text(refused)
    assert await RightsRequest.all().count() == 0
