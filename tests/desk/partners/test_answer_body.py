"""An answer through the partner API returns the delivery as it now stands: the very document a
GET of the delivery gives right after (the answer builds it from the row its transition wrote,
without reading it again), and a replay of the same Idempotency-Key gives it once more."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from desk.outbox.worker import Worker
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_bearer

ANSWERS: list[tuple[str, list[tuple[str, dict[str, Any] | None]]]] = [
    ("acknowledge", [("acknowledge", None)]),
    ("extend", [("acknowledge", None), ("extend", {"reason": "Archives.", "extra_months": 1})]),
    ("need-info", [("need-info", {"message": "Votre numéro de client ?", "identity": True})]),
    ("fulfil", [("fulfil", {"outcome": {"result": "erased", "erased_categories": ["x"]}})]),
    ("deny", [("deny", {"reason": "no_match", "detail": "Personne de ce nom."})]),
]


def _without_link(document: dict[str, Any]) -> dict[str, Any]:
    # The answer link is signed with the time it was made: it changes from one second to the
    # next.
    assert document["answer_url"].startswith("http://testserver/")
    return {k: v for k, v in document.items() if k != "answer_url"}


@pytest.mark.parametrize(("name", "steps"), ANSWERS, ids=[name for name, _ in ANSWERS])
async def test_the_answer_is_the_delivery_as_a_get_shows_it_after(
    app: Starlette,
    client: httpx.AsyncClient,
    worker: Worker,
    name: str,
    steps: list[tuple[str, dict[str, Any] | None]],
) -> None:
    await make_signatory("eau-du-ponant")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    delivery = await Delivery.get()
    auth = await partner_bearer(client, "eau-du-ponant")
    url = f"/api/v1/deliveries/{delivery.id}"
    for n, (action, body) in enumerate(steps):
        headers = {**auth, "Idempotency-Key": f"{name}-{n}"}
        answer = await client.post(f"{url}/{action}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        now = await client.get(url, headers=auth)
        assert _without_link(answer.json()) == _without_link(now.json())
        assert answer.json()["history"][-1]["action"] == action.replace("-", "_")
        replay = await client.post(f"{url}/{action}", json=body, headers=headers)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == answer.json()
