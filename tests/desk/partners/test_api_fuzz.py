"""Fuzzing the partner API from its own OpenAPI document (schemathesis, in-process over ASGI).

Every operation under /api/v1/deliveries gets generated requests, valid and invalid, with a
valid bearer token, both on random delivery ids and on the signatory's real deliveries: no
answer may be a server error, every answer must match the document (declared status code,
declared content type, body valid against its schema), and every request that breaks the
document must be refused (schemathesis's negative-data check).
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case as AnyCase
from schemathesis.python import asgi
from schemathesis.schemas import APIOperation as AnyOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk import db
from desk.app import create_app
from desk.mail.sink import MailSink
from desk.partners import api
from desk.partners.deliveries import PREFIX
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.runtime import Runtime
from desk.settings import Settings
from tests.desk.partners.token_support import minted_token
from tests.factories import make_resident, make_signatory

EXAMPLES = 25
SEED = 20_251_031
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # A request that breaks the document must be refused (4xx), never accepted.
    negative_data_rejection,
]
OPERATIONS = r"^/(api/v1/|oauth/)"
# What counts as refusing a request that breaks the document: schemathesis's list, plus 413
# (a body past the API's size limit is refused before it is read).
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
)
Operation = AnyOperation[Any, Any, Any, Any]
Case = AnyCase[Operation]


@dataclass
class World:
    """Two signatories, their deliveries and a bearer token for each."""

    mine: list[int] = field(default_factory=list)
    theirs: list[int] = field(default_factory=list)
    my_token: str = ""
    their_token: str = ""


async def _seed(settings: Settings) -> World:
    world = World()
    runtime = Runtime.build(settings)
    issuer = runtime.issuer
    async with db.connected(settings.database_url):
        me = await make_signatory("eau-du-ponant")
        other = await make_signatory("bibus")
        resident = await make_resident()
        for _ in range(3):
            for kind in RequestKind:
                await file_request(resident_id=resident.id, kind=kind)
        for delivery in await Delivery.all().order_by("id"):
            if delivery.id % 2:  # half of them handed over, so need-info is possible too
                await transitions.send(
                    delivery_id=delivery.id, actor="adapter:test", dispatch_ref="test"
                )
            mine = delivery.signatory_id == me.id  # type: ignore[attr-defined]
            (world.mine if mine else world.theirs).append(delivery.id)
        # Real clients: the API checks the token's secret in the database on every call.
        world.my_token = await minted_token(
            secret_key=settings.secret_key, issuer=issuer, slug=me.slug, signatory_id=me.id
        )
        world.their_token = await minted_token(
            secret_key=settings.secret_key, issuer=issuer, slug=other.slug, signatory_id=other.id
        )
    return world


def _with_api(application: Starlette) -> Starlette:
    paths = {getattr(route, "path", None) for route in application.router.routes}
    if PREFIX not in paths:  # until desk/app.py mounts the partner API
        application.router.routes.extend(api.routes)
    return application


def test_fuzz_the_partner_api_from_its_openapi_document(
    settings: Settings, mail_sink: MailSink
) -> None:
    EXECUTOR_CACHE.clear()  # the suite switches dialects in one process (see tests/conftest.py)
    world = asyncio.run(_seed(settings))
    EXECUTOR_CACHE.clear()
    application = _with_api(create_app(settings, mail_sink=mail_sink))
    headers = {"Authorization": f"Bearer {world.my_token}"}
    examples: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    def record(label: str, status: int) -> None:
        examples[label] += 1
        statuses[status] += 1

    try:
        schema = schemathesis.openapi.from_asgi(
            "/api/openapi.json", application, config=FUZZ_CONFIG
        )
        operations: list[Operation] = []
        for result in schema.include(path_regex=OPERATIONS).get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        assert len(operations) == 15  # every operation of the document

        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for strategy in _strategies(operation, mode, world.mine):
                    try:
                        _fuzz(strategy, headers, functools.partial(record, label))
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together
                        failures.append(f"{label} ({mode.value}): {exc}")
    finally:
        asgi.shutdown_lifespans()

    print(
        f"\nfuzzed {len(examples)} operations, {sum(examples.values())} requests, "
        f"{len(failures)} failures; statuses {dict(sorted(statuses.items()))}"
    )
    for label, count in sorted(examples.items()):
        print(f"  {label}: {count}")
    assert not failures, "\n\n".join(failures)
    assert all(status < 500 for status in statuses)
    assert statuses[200] > 0 and statuses[404] > 0


def _strategies(
    operation: Operation, mode: GenerationMode, deliveries: list[int]
) -> list[st.SearchStrategy[Case]]:
    strategies = [operation.as_strategy(mode)]
    if "{delivery_id}" in operation.path:
        # Random ids mostly miss: also aim at this signatory's real deliveries.
        def on(delivery_id: int) -> st.SearchStrategy[Case]:
            return operation.as_strategy(mode, path_parameters={"delivery_id": delivery_id})

        strategies.append(st.sampled_from(deliveries).flatmap(on))
    return strategies


def _fuzz(
    strategy: st.SearchStrategy[Case],
    headers: dict[str, str],
    record: Callable[[int], None],
) -> None:
    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        record(response.status_code)

    run()


# --- authentication, operation by operation ---------------------------------------------------


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    EXECUTOR_CACHE.clear()
    application = _with_api(create_app(settings, mail_sink=mail_sink))
    async with LifespanManager(application):
        yield application


async def test_every_operation_wants_a_token_of_the_right_signatory(
    client: httpx.AsyncClient,
) -> None:
    me = await make_signatory("eau-du-ponant")
    other = await make_signatory("bibus")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    mine = await Delivery.get(signatory_id=me.id)
    theirs = await minted_token(
        secret_key="test-secret-key-not-for-production",
        issuer="http://testserver",
        slug=other.slug,
        signatory_id=other.id,
    )
    document = (await client.get("/api/openapi.json")).json()
    operations = [
        (method.upper(), path)
        for path, entries in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in entries
    ]
    assert len(operations) == 14  # every operation that needs a token
    for method, path in operations:
        url = path.replace("{delivery_id}", str(mine.id)).replace("{alert_id}", "1")
        url = url.replace("{year}", "2026")
        anonymous = await client.request(method, url, json={} if method == "POST" else None)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        forged = await client.request(method, url, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 401, (method, path)
        if not path.startswith("/api/v1/deliveries"):
            continue
        wrong = await client.request(
            method,
            url,
            json={} if method == "POST" else None,
            headers={"Authorization": f"Bearer {theirs}"},
        )
        if "{delivery_id}" in path:
            assert wrong.status_code == 404, (method, path)
        else:
            assert wrong.status_code == 200
            assert mine.id not in [item["id"] for item in wrong.json()["items"]]
    assert (await Delivery.get(id=mine.id)).state == "pending"
