"""Long values in every field of every form and every partner API operation, up to the body
limits, while a probe asks /healthz all along: no answer is a server error, and the probe is
always answered within a second of the loop's CPU time (one resident's input never holds the
event loop).

The forms are the ones tests/security/test_fuzz_forms.py finds on every role's pages; each is
sent with the values its page gives (hidden fields, the first choice of each radio group), so
the route goes as far as it can, with one field at a time replaced by a long value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.settings import Settings
from tests.helpers import resolved
from tests.security.matrix import fill
from tests.security.test_access_matrix import TABLE
from tests.security.test_fuzz_forms import QUERIES, _started
from tests.security.world import (
    ANON,
    BACK,
    GENEROUS_LIMITS,
    PART_X,
    PART_Y,
    ROLES,
    World,
    build_world,
)

# Past every field's maximum (so no answer is accepted and the next forms still apply), up to
# the form body limit (desk.web.csrf.MAX_FORM_BYTES, 256 KiB) with the other fields.
FORM_LENGTHS = (9_000, 30_000, 250_000)
# Up to the partner API's JSON body limit (64 KiB).
JSON_LENGTHS = (5_000, 60_000)
QUERY_LENGTHS = (2_000, 12_000)
PAUSE = 0.05  # seconds between two questions of the probe
# CPU seconds of the loop's thread per probe: generous; a stalled loop took 9 s for 30,000
# characters. CPU, not wall time: on a loaded box a process waiting for a core is not stalled.
PROBE_BOUND = 1.0


@dataclass
class Form:
    role: str
    action: str
    values: dict[str, str]
    multipart: bool


@dataclass
class Probe:
    """Asks /healthz every PAUSE on the app's own event loop, and counts the loop thread's CPU
    time around each answer (a callback holding the loop spends it there)."""

    client: httpx.AsyncClient
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.thread_time()
            response = await self.client.get("/healthz")
            if response.status_code != 200:
                self.failures.append(f"/healthz answered {response.status_code}")
            await asyncio.sleep(PAUSE)
            # The answer and the pause: a loop held while the probe waited between two
            # questions shows too.
            self.times.append(time.thread_time() - started)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


class _FormReader(HTMLParser):
    """POST forms with the values a person would send without typing (hidden fields, the first
    option of each group) and a short text in every text field."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[tuple[str, dict[str, str], bool]] = []
        self.current: tuple[str, dict[str, str], bool] | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            multipart = a.get("enctype", "").startswith("multipart/")
            self.current = (a.get("action") or self.page, {}, multipart)
            return
        if self.current is None:
            return
        values = self.current[1]
        name = a.get("name", "")
        if tag == "option" and self.select and self.select not in values:
            values[self.select] = a.get("value", "")
        if not name or name == "csrftoken" or name in values:
            return
        kind = a.get("type", "text")
        if tag == "select":
            self.select = name
        elif tag == "textarea" or (tag == "input" and kind in ("text", "email", "search")):
            values[name] = a.get("value") or "Texte court."
        elif tag == "input" and kind != "file":
            values[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        if tag == "form" and self.current is not None:
            self.forms.append(self.current)
            self.current = None


def _pages(world: World) -> list[tuple[str, str]]:
    """(role, page) of every page a role may open, and the answer pages of one delivery."""
    pages = []
    for path, rules in TABLE.items():
        rule = rules.get("GET")
        if rule is None or rule.phase != 0 or "*" in path:
            continue
        pages += [
            (role, fill(world, path, rule, role)) for role in ROLES if rule.expect[role] == "ok"
        ]
    # Deliveries still waiting for an answer: their pages carry every answer form.
    x, y = int(world.ids["x"]), int(world.ids["y"])
    for role, delivery, signatory in (
        (PART_X, int(world.ids["kept_delivery"]), x),
        (PART_Y, int(world.ids["withdraw_delivery"]), y),
    ):
        pages.append((role, f"/partenaires/reponse/{world.answer_link(delivery, signatory)}"))
    pages.append((BACK, f"/back-office/envois/{world.ids['postal_delivery']}"))
    return pages


async def _find_forms(world: World) -> list[Form]:
    found: dict[tuple[str, str], Form] = {}
    for role, page in _pages(world):
        response = await world.clients[role].get(page)
        if response.status_code != 200 or "html" not in response.headers["content-type"]:
            continue
        reader = _FormReader(str(response.url.path))
        reader.feed(response.text)
        for action, values, multipart in reader.forms:
            action = action.removeprefix("http://testserver")
            if "deconnexion" in action or action.startswith("http") or not values:
                continue
            key = (role, action.split("?")[0])
            # Several forms may post to one address (the dashboard has one per signatory):
            # together they name every field it reads.
            form = found.setdefault(key, Form(role, action, {}, multipart))
            form.values = {**values, **form.values}
    return list(found.values())


async def _post_form(world: World, form: Form, values: dict[str, str]) -> httpx.Response:
    client = world.clients[form.role]
    token = client.cookies.get("csrftoken") or ""
    if form.multipart:
        files = {"copy": ("copie.json", b"{}", "application/json")}
        return await client.post(form.action, data={"csrftoken": token, **values}, files=files)
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in {"csrftoken": token, **values}.items())
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return await client.post(form.action, content=body.encode(), headers=headers)


def _api_operations(document: dict[str, Any]) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path, JSON body properties, query parameters) of every partner operation."""
    operations = []
    for path, methods in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            schema = resolved(
                document,
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {}),
            )
            properties = sorted(schema.get("properties", {}))
            queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            operations.append((method.upper(), path, properties, queries))
    return operations


async def _sweep(world: World, failures: list[str]) -> int:
    sent = 0

    async def send(label: str, call: Awaitable[httpx.Response]) -> None:
        nonlocal sent
        try:
            response = await call
        except Exception as exc:  # noqa: BLE001 - the app raised: a 500 for a real client
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
            return
        sent += 1
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")

    forms = await _find_forms(world)
    actions = {form.action.split("/")[1] for form in forms}
    assert {"mon-espace", "mediation", "back-office", "comite", "partenaires"} <= actions
    assert any("reponse" in form.action for form in forms)
    for form in forms:
        for name in form.values:
            for length in FORM_LENGTHS:
                values = {**form.values, name: "x" * length}
                label = f"POST {form.action} as {form.role}, {name} of {length}"
                await send(label, _post_form(world, form, values))

    for role, page, names in QUERIES:
        url = fill(world, page, TABLE[page]["GET"], role).split("?")[0]
        for name in names:
            for length in QUERY_LENGTHS:
                call = world.clients[role].get(url, params={name: "x" * length})
                await send(f"GET {page}?{name} of {length} as {role}", call)

    client = world.clients[PART_X]
    document = (await world.clients[ANON].get("/api/openapi.json")).json()
    own = str(world.ids["delivery_x"])
    for method, path, properties, queries in _api_operations(document):
        url = path
        for param in ("{delivery_id}", "{alert_id}"):
            url = url.replace(param, own)
        url = url.replace("{year}", "2026")
        for prop in properties:
            for length in JSON_LENGTHS:
                call = client.request(method, url, json={prop: "x" * length})
                await send(f"{method} {path} {prop} of {length}", call)
        for name in queries:
            call = client.request(method, url, params={name: "x" * QUERY_LENGTHS[0]})
            await send(f"{method} {path}?{name}", call)
        for length in (300, 600):  # path segments past any id and past the guard's bound
            long_url = path.replace("{delivery_id}", "9" * length)
            if long_url != path:
                await send(
                    f"{method} {path} with an id of {length}", client.request(method, long_url)
                )
    return sent


def test_long_values_everywhere_never_fail_nor_stall_the_desk(
    settings: Settings, mail_sink: MailSink
) -> None:
    loop = asyncio.new_event_loop()
    EXECUTOR_CACHE.clear()  # the suite switches dialects in one process (see tests/conftest.py)
    app = create_app(replace(settings, **GENEROUS_LIMITS), mail_sink=mail_sink)
    lifespan = loop.run_until_complete(_started(app))
    context = build_world(app, build_worker(app.state.runtime), mail_sink)
    failures: list[str] = []
    probe_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    )
    probe = Probe(probe_client)
    sent = 0

    async def run(world: World) -> int:
        probe.start()
        try:
            return await _sweep(world, failures)
        finally:
            await probe.stop()

    try:
        world = loop.run_until_complete(context.__aenter__())
        sent = loop.run_until_complete(run(world))
    finally:
        loop.run_until_complete(probe_client.aclose())
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    slowest = max(probe.times, default=0.0)
    print(f"\n{sent} long values sent, {len(probe.times)} probes, slowest {slowest:.3f} CPU s")
    assert not failures, "\n".join(failures)
    # The probe ran all along (a stalled loop would show as one very slow answer).
    assert len(probe.times) >= 20
    assert not probe.failures, probe.failures
    assert slowest < PROBE_BOUND, f"/healthz took {slowest:.1f} CPU s while long values were sent"
