"""The three audiences of the one login flow, as described (no database)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from desk.identity.login_routes import LoginPages, login_routes
from desk.organisations import auth as organisation_auth
from desk.residents import login as resident_login
from desk.staff import routes as staff_routes
from desk.web.ratelimit import RULES

AREAS: list[LoginPages[Any]] = [
    resident_login.LOGIN,
    staff_routes.LOGIN,
    organisation_auth.LOGIN,
]


def test_each_audience_has_its_own_prefix_cookie_mail_and_route_names() -> None:
    for field in ("prefix", "area"):
        assert len({getattr(pages, field) for pages in AREAS}) == len(AREAS), field
    links = [pages.audience.link for pages in AREAS]
    for field in ("audience", "cookie", "mail_job"):
        assert len({getattr(link, field) for link in links}) == len(links), field
    for pages in AREAS:
        # The cookie goes only to the login pages of its own area.
        assert pages.audience.link.cookie_path == pages.prefix
    names = [name for pages in AREAS for name in vars(pages.names).values()]
    assert len(set(names)) == len(names)


def test_the_rate_limit_each_audience_names_is_the_one_counting_its_form() -> None:
    by_name = {rule.name: rule for rule in RULES}
    for pages in AREAS:
        counting = [r.name for r in RULES if r.method == "POST" and r.path.match(pages.prefix)]
        assert counting == ([pages.rate_limit] if pages.rate_limit else []), pages.area
        if pages.rate_limit:
            assert by_name[pages.rate_limit].path.match(pages.prefix)


def test_the_asking_device_page_is_matched_before_a_token() -> None:
    for pages in AREAS:
        paths = [r.path for r in login_routes(pages) if isinstance(r, Route)]
        assert paths.index(f"{pages.prefix}/autre-appareil") < paths.index(
            pages.prefix + "/{token}"
        )
