"""Every HTML form and every query parameter, fuzzed (hypothesis): random text, raw bytes,
unicode oddities and huge values, with a valid session and CSRF token. The answer is a page or
a 4xx, never a server error.

The forms are found, not listed: each role's pages (the "ok" GET cells of the access matrix)
are read and their POST forms collected with their field names. Log-out forms are left out
(they would end the session the rest needs). The partner API has its own fuzzing from its
OpenAPI document (tests/desk/partners/test_api_fuzz.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import quote, quote_from_bytes

import httpx
import hypothesis
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.settings import Settings
from tests.security.matrix import fill
from tests.security.test_access_matrix import TABLE
from tests.security.world import BACK, GENEROUS_LIMITS, PART_X, RES_A, ROLES, World, build_world

FORM_EXAMPLES = 4
QUERY_EXAMPLES = 3
SEED = 20_261_126
T = TypeVar("T")

ODD_VALUES = [
    "", " ", "0", "-1", "1e309", "99999999999999999999999", "../../etc/passwd", "%00", "\x00",
    "<script>alert(1)</script>", "' OR 1=1 --", "\r\nBcc: pirate@evil.example", "🙂" * 40,
    "\u202eexe.pdf", "é" * 300, "null", "[]", "{}", "\ufeff", "a" * 7_000,
]  # fmt: skip


def _values(huge: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.text(max_size=60).map(str.encode),
        st.binary(max_size=60),
        st.sampled_from(ODD_VALUES).map(str.encode),
        st.integers(min_value=1_000, max_value=huge).map(lambda n: b"x" * n),
    )


# Form bodies up to past the 256 KB form limit; queries within what an HTTP client sends.
VALUES = _values(400_000)
QUERY_VALUES = _values(15_000)

# (role, page, its query parameters)
QUERIES: list[tuple[str, str, tuple[str, ...]]] = [
    (RES_A, "/", ("lang",)),
    (RES_A, "/mon-espace", ("actualiser", "lang")),
    (RES_A, "/mon-espace/supprimer", ("tous", "signataire")),
    (RES_A, "/verifier", ("jws",)),
    (RES_A, "/transparence/journal/feuilles.json", ("depuis", "limite")),
    (RES_A, "/transparence/journal/tetes.json", ("depuis", "limite")),
    (RES_A, "/transparence/journal/inclusion.json", ("feuille", "taille")),
    (RES_A, "/transparence/journal/coherence.json", ("de", "a")),
    (RES_A, "/dev/mailbox.json", ("to",)),
    (RES_A, "/franceconnect/retour", ("error", "state", "code")),
    (RES_A, "/franceconnect/deconnexion", ("state",)),
    (BACK, "/back-office/signataires/{slug}", ("etat", "type", "en_retard")),
    (PART_X, "/partenaires/reponse/{token}", ("ok",)),
    (PART_X, "/partenaires/charte/{token}", ("ok",)),
]


@dataclass(frozen=True)
class Form:
    role: str
    action: str
    fields: tuple[str, ...]
    multipart: bool


class _FormFinder(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[tuple[str, list[str], bool]] = []
        self.current: tuple[str, list[str], bool] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            multipart = (a.get("enctype") or "").startswith("multipart/")
            self.current = (a.get("action") or self.page, [], multipart)
        elif tag in ("input", "select", "textarea", "button") and self.current and a.get("name"):
            name = a["name"] or ""
            if name != "csrftoken" and name not in self.current[1]:
                self.current[1].append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.current is not None:
            self.forms.append(self.current)
            self.current = None


async def _find_forms(world: World) -> list[Form]:
    found: dict[tuple[str, str], Form] = {}
    for path, rules in TABLE.items():
        rule = rules.get("GET")
        if rule is None or rule.phase != 0 or "*" in path:
            continue
        for role in ROLES:
            if rule.expect[role] != "ok":
                continue
            response = await world.clients[role].get(fill(world, path, rule, role))
            if response.status_code != 200 or "html" not in response.headers["content-type"]:
                continue
            finder = _FormFinder(str(response.url.path))
            finder.feed(response.text)
            for action, fields, multipart in finder.forms:
                if "deconnexion" in action or action.startswith("http"):
                    continue
                key = (role, action.split("?")[0])
                found.setdefault(key, Form(role, action, tuple(fields), multipart))
    return list(found.values())


def _urlencoded(values: dict[str, bytes]) -> bytes:
    return "&".join(f"{quote(k)}={quote_from_bytes(v)}" for k, v in values.items()).encode()


def _explore(
    loop: asyncio.AbstractEventLoop,
    strategy: st.SearchStrategy[T],
    examples: int,
    call: Callable[[T], Awaitable[httpx.Response]],
    failures: list[str],
    label: str,
) -> None:
    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(value=strategy)
    def run(value: T) -> None:
        shown = repr(value)[:300]
        try:
            response = loop.run_until_complete(call(value))
        except Exception as exc:  # noqa: BLE001 - the app raised: a 500 for a real client
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]} for {shown}")
            return
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} for {shown}")

    run()


def _form_calls(
    world: World, form: Form
) -> Callable[[dict[str, bytes]], Awaitable[httpx.Response]]:
    client = world.clients[form.role]

    async def call(values: dict[str, bytes]) -> httpx.Response:
        token = client.cookies.get("csrftoken") or ""
        if form.multipart:
            data = {
                "csrftoken": token,
                **{k: v.decode("utf-8", "replace") for k, v in values.items()},
            }
            files = {"copy": ("copie.json", values.get("copy", b"{}"), "application/json")}
            return await client.post(form.action, data=data, files=files)
        body = _urlencoded({"csrftoken": token.encode(), **values})
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return await client.post(form.action, content=body, headers=headers)

    return call


async def _started(app: Any) -> LifespanManager:
    manager = LifespanManager(app)  # made inside the loop: it looks for the running one
    await manager.__aenter__()
    return manager


HOSTILE_PARAMS = ["x" * 300, "9" * 40, "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00"]


async def _sweep_path_parameters(world: World, failures: list[str]) -> int:
    """Every route with path parameters, each filled with hostile values, as a role let in."""
    sent = 0
    for path, rules in TABLE.items():
        if "{" not in path:
            continue
        for method, rule in rules.items():
            role = next((r for r in ROLES if rule.expect[r] == "ok"), None)
            if role is None:
                continue
            client = world.clients[role]
            for value in HOSTILE_PARAMS:
                url = re.sub(r"{\w+}", value, path)
                data = {"csrftoken": client.cookies.get("csrftoken", "")}
                try:
                    response = await client.request(
                        method, url, data=data if method != "GET" else None
                    )
                except Exception as exc:  # noqa: BLE001 - the app raised: a 500 for a client
                    failures.append(f"{method} {url} as {role}: {type(exc).__name__}: {exc}"[:400])
                    continue
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{method} {url} as {role}: {response.status_code}"[:400])
    return sent


def test_fuzz_every_form_and_query_parameter(settings: Settings, mail_sink: MailSink) -> None:
    loop = asyncio.new_event_loop()
    EXECUTOR_CACHE.clear()  # the suite switches dialects in one process (see tests/conftest.py)
    app = create_app(replace(settings, **GENEROUS_LIMITS), mail_sink=mail_sink)
    lifespan = loop.run_until_complete(_started(app))
    context = build_world(app, build_worker(app.state.runtime), mail_sink)
    failures: list[str] = []
    try:
        world = loop.run_until_complete(context.__aenter__())
        swept = loop.run_until_complete(_sweep_path_parameters(world, failures))
        forms = loop.run_until_complete(_find_forms(world))
        actions = {form.action.split("/")[1] for form in forms}
        # Found on the pages of every kind of user: the fuzzing reaches all of them.
        assert {"connexion", "mon-espace", "mediation", "back-office", "comite"} <= actions
        assert {"partenaires", "verifier", "equipe"} <= actions
        for form in forms:
            fields = {name: VALUES for name in form.fields}
            strategy = st.fixed_dictionaries(fields, optional={"champ-inconnu": VALUES})
            label = f"POST {form.action} as {form.role}"
            _explore(loop, strategy, FORM_EXAMPLES, _form_calls(world, form), failures, label)
        for role, page, names in QUERIES:
            url = fill(world, page, TABLE[page]["GET"], role).split("?")[0]
            client = world.clients[role]

            async def get(values: dict[str, bytes], url: str = url, c: Any = client) -> Any:
                return await c.get(f"{url}?{_urlencoded(values).decode()}")

            strategy = st.fixed_dictionaries({name: QUERY_VALUES for name in names})
            _explore(loop, strategy, QUERY_EXAMPLES, get, failures, f"GET {page} as {role}")
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    print(f"\nfuzzed {len(forms)} forms, {len(QUERIES)} pages' queries, {swept} path values")
    assert not failures, "\n".join(failures)
