"""The access matrix's vocabulary: rules, their builders, and how a cell is filled and judged.

The table itself, and the tests, are in test_access_matrix.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.routing import BaseRoute, Mount, Route

from tests.security.world import (
    ADMIN,
    MED_0,
    PART_X,
    PART_Y,
    RES_A,
    RES_B,
    ROLES,
    STAFF,
    World,
)

Expect = str | int
Param = str | Callable[[World, str], str]
STAFF_ROLES = tuple(STAFF)
BOGUS_TOKEN = "pas-un-vrai-jeton.AAAA.BBBB"


@dataclass(frozen=True)
class Rule:
    expect: Mapping[str, Expect]
    # Path parameters: a key of World.ids, or a function of (world, role).
    params: Mapping[str, Param] = field(default_factory=dict)
    body: Callable[[World], dict[str, Any]] | None = None
    query: str = ""
    # 0: plain reads; 1: reads that consume (one-time downloads) and writes; 2-3: log-outs.
    phase: int = 0
    public: bool = False
    # A log-out's own answer is a redirect to a login page.
    lands_on_login: bool = False


def everyone(expect: Expect = "ok") -> dict[str, Expect]:
    return dict.fromkeys(ROLES, expect)


def resident(*, own: bool) -> dict[str, Expect]:
    """A resident's page; `own`: the path names resident A's object."""
    expect = everyone("login")
    expect[RES_A] = "ok"
    expect[RES_B] = 404 if own else "ok"
    return expect


def staff(*roles: str, of_c: bool = False) -> dict[str, Expect]:
    """A staff page for `roles` (admin always passes the role check); `of_c`: names resident C,
    whom only MED_C assists (any other mediator, admin included, finds nobody)."""
    expect = everyone("staff_login")
    for role in STAFF_ROLES:
        expect[role] = "ok" if (not roles or role == ADMIN or STAFF[role][1] in roles) else 403
    if of_c:
        expect[MED_0] = expect[ADMIN] = 404
    return expect


def api(*, own: bool) -> dict[str, Expect]:
    """A partner API operation; `own`: the path names one of X's objects."""
    expect = everyone(401)
    expect[PART_X] = "ok"
    expect[PART_Y] = 404 if own else "ok"
    return expect


def link(*, own: bool) -> dict[str, Expect]:
    """A signed-link page: X's link works, Y's link on X's object is 404, no link is 404."""
    expect = everyone(404)
    expect[PART_X] = "ok"
    expect[PART_Y] = 404 if own else "ok"
    return expect


def answer_link(world: World, role: str) -> str:
    delivery = int(world.ids["delivery_x"])
    signatory = {PART_X: world.ids["x"], PART_Y: world.ids["y"]}.get(role)
    return world.answer_link(delivery, int(signatory)) if signatory else BOGUS_TOKEN


def charter_link(world: World, role: str) -> str:
    signatory = {PART_X: world.ids["x"], PART_Y: world.ids["y"]}.get(role)
    return world.charter_link(int(signatory)) if signatory else BOGUS_TOKEN


def bogus(world: World, role: str) -> str:
    return BOGUS_TOKEN


def write(expect: dict[str, Expect], **extra: Any) -> Rule:
    return Rule(expect=expect, phase=1, **extra)


def public(**extra: Any) -> Rule:
    return Rule(expect=everyone(), public=True, **extra)


DEFAULT_PARAMS: dict[str, str] = {
    "reference": "reference",
    "delivery_id": "delivery_x",
    "copy_id": "copy_a",
    "receipt_id": "receipt",
    "job_id": "job",
    "alert_id": "alert",
}
PASSED_THE_GATE = {400, 409, 410, 422}


def route_methods(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(path template, method) of every route, Mounts included; /static is files only."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/static":
                continue
            found |= route_methods(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            for method in route.methods or {"GET"}:
                if method != "HEAD":
                    found.add((prefix + route.path, method))
    return found


def fill(world: World, path: str, rule: Rule, role: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        param = rule.params.get(name) or DEFAULT_PARAMS.get(name)
        if param is None:
            param = {"slug": lambda w, r: w.x.slug if w.x else ""}.get(name)
        assert param is not None, f"no value for {{{name}}} in {path}"
        return param(world, role) if callable(param) else str(world.ids[param])

    url = re.sub(r"{(\w+)(?::\w+)?}", value, path)
    return f"{url}?{rule.query}" if rule.query else url


def verdict(expect: Expect, rule: Rule, method: str, response: httpx.Response) -> bool:
    status = response.status_code
    if expect == "ok" and rule.lands_on_login and status == 303:
        return True
    location = response.headers.get("location", "").split("?")[0]
    to_staff_login = status == 303 and location.endswith("/equipe/connexion")
    to_org_login = status == 303 and location.endswith("/organisation/connexion")
    to_login = (
        status == 303
        and location.endswith("/connexion")
        and not to_staff_login
        and not to_org_login
    )
    if expect == "login":
        return to_login
    if expect == "staff_login":
        return to_staff_login
    if expect == "org_login":
        return to_org_login
    if expect == "ok":
        passed = 200 <= status < 400 and not (to_login or to_staff_login or to_org_login)
        return passed or (method != "GET" and status in PASSED_THE_GATE)
    return status == expect
