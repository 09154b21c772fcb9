"""The login pages, once for every audience: ask for a link, open it, log in; and the two ways
a link opened on another device still logs in (desk.identity.other_device).

An area (residents, staff, an organisation's people) describes itself in a `LoginPages`: its
URL prefix, templates, page frame, who is already logged in, how a session starts and where it
lands; `login_routes(pages)` gives its routes. Under the prefix P:

  GET  P                       the form              POST P                     send a link
  GET  P/{token}               the link's page       POST P/{token}             log in
  POST P/{token}/code          the asking device's code, typed on another device
  POST P/{token}/autre-appareil  another device asks the asking one to confirm
  GET  P/autre-appareil        the asking device: its code, devices waiting (plain refresh link)
  POST P/autre-appareil        the asking device confirms or refuses one of them
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.models import Model

from desk.core import clock
from desk.core.emails import InvalidEmail
from desk.core.errors import DeskError
from desk.identity import login, login_links, other_device
from desk.identity.devices import device_of
from desk.identity.login_links import LoginLinkError
from desk.web.templating import render

log = logging.getLogger("desk.identity.login")

P = TypeVar("P", bound=Model)
OTHER_DEVICE = "autre-appareil"
NO_STORE = {"cache-control": "no-store"}
ANSWERS = {"confirmer": True, "refuser": False}
DONE = frozenset({"confirme", "refuse"})


@dataclass(frozen=True)
class RouteNames:
    form: str
    submit: str
    link: str
    confirm: str
    code: str
    ask: str
    device: str
    answer: str


@dataclass(frozen=True)
class LoginPages(Generic[P]):
    """One area's login: what differs between residents, staff and organisations' people."""

    audience: login.Audience[P]
    # Templates <area>/login.html, login_sent, login_confirm, login_problem, login_elsewhere.
    area: str
    names: RouteNames
    # Opens the session of the person who just logged in; returns where they land.
    start: Callable[[Request, P], Awaitable[str]]
    # The login form's words about who is already logged in here (and any notice).
    signed_in: Callable[[Request], Awaitable[dict[str, Any]]]
    # The same words for nobody, on a form sent back with an error.
    nobody: Mapping[str, Any] = field(default_factory=dict)
    # What every page of the area adds to its context (a flash message, label helpers).
    frame: Callable[[Request], dict[str, Any]] = lambda request: {}
    headers: Mapping[str, str] | None = None
    # Run before asking for a link (retention: old links, expired copies).
    before_ask: Callable[[datetime, int], Awaitable[object]] | None = None
    # The rule of desk.web.ratelimit.RULES counting this form's POSTs per address and per IP
    # (the middleware finds it by path; tests/desk/identity keep the two in step).
    rate_limit: str | None = None

    @property
    def prefix(self) -> str:
        return self.audience.link.path_prefix.rstrip("/")


def login_routes(pages: LoginPages[Any]) -> list[BaseRoute]:
    flow = _Flow(pages)
    p, n = pages.prefix, pages.names
    return [
        Route(p, flow.form, methods=["GET"], name=n.form),
        Route(p, flow.submit, methods=["POST"], name=n.submit),
        # Before P/{token}: "autre-appareil" is not a token (43 characters).
        Route(f"{p}/{OTHER_DEVICE}", flow.asking_device, methods=["GET"], name=n.device),
        Route(f"{p}/{OTHER_DEVICE}", flow.answer, methods=["POST"], name=n.answer),
        Route(p + "/{token}", flow.link_page, methods=["GET"], name=n.link),
        Route(p + "/{token}", flow.confirm, methods=["POST"], name=n.confirm),
        Route(p + "/{token}/code", flow.code, methods=["POST"], name=n.code),
        Route(p + "/{token}/" + OTHER_DEVICE, flow.ask_other, methods=["POST"], name=n.ask),
    ]


def _field(form: FormData, name: str, limit: int | None = None) -> str:
    """A text field (the first `limit` characters, when given: a longer value is never right)."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value if limit is None else value[:limit]


def _device(request: Request) -> str:
    label = device_of(request.scope)
    return ", ".join(part for part in (label["browser"], label["system"]) if part)


class _Flow(Generic[P]):
    def __init__(self, pages: LoginPages[P]) -> None:
        self.pages = pages
        self.audience = pages.audience
        self.kind = pages.audience.link

    # --- rendering -----------------------------------------------------------------------------

    def page(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        private: bool = False,
    ) -> Response:
        pages = self.pages
        template = name if "/" in name else f"{pages.area}/{name}.html"
        headers = {**(pages.headers or {}), **(NO_STORE if private else {})}
        values = {**pages.frame(request), "prefix": pages.prefix, **context}
        return render(request, template, values, status_code=status_code, headers=headers or None)

    def nonce(self, request: Request) -> str | None:
        return login_links.browser_nonce(request, self.kind)

    def settings(self, request: Request) -> Any:
        return request.app.state.settings

    def problem(self, request: Request, exc: LoginLinkError) -> Response:
        if exc.reason == "elsewhere":
            return self.elsewhere(request, exc.message, status_code=exc.status)
        page = self.page(
            request,
            "login_problem",
            {"reason": exc.reason, "message": exc.message, "email": "", "error": None},
            status_code=exc.status,
        )
        return login_links.no_referrer(page)

    def elsewhere(
        self,
        request: Request,
        message: str,
        *,
        status_code: int,
        error: str | None = None,
        remaining: int | None = None,
    ) -> Response:
        """Opened on a device that did not ask: type the code, ask to confirm, or a new link."""
        token = str(request.path_params["token"])
        context = {
            "reason": "elsewhere",
            "message": message,
            "link": login_links.link_path(self.kind, token),
            "code_error": error,
            "remaining": remaining,
            "email": "",
            "error": None,
        }
        page = self.page(request, "login_elsewhere", context, status_code=status_code)
        return login_links.no_referrer(page)

    # --- asking for a link ---------------------------------------------------------------------

    async def form(self, request: Request) -> Response:
        context = {"email": "", "error": None, **await self.pages.signed_in(request)}
        return self.page(request, "login", context)

    async def submit(self, request: Request) -> Response:
        settings = self.settings(request)
        form = await request.form()
        raw = _field(form, "email")
        now = clock.now()
        if self.pages.before_ask is not None:
            await self.pages.before_ask(now, settings.login_link_max_age)
        # The link will work only in a browser holding this nonce (kept if it already has one).
        browser = self.nonce(request) or login_links.new_secret()
        try:
            challenge = await login.request_login(
                audience=self.audience,
                email=raw,
                browser=browser,
                secret_key=settings.secret_key,
                now=now,
                locale=request.state.locale,
            )
        except InvalidEmail as exc:
            context = {"email": raw.strip()[:254], "error": exc.message, **self.pages.nobody}
            return self.page(request, "login", context, status_code=422)
        if challenge is not None:
            log.info("%s login challenge created", self.audience.name)
        # The same page (and the same cookie) whether the address is known, new, or throttled.
        minutes = max(1, settings.login_link_max_age // 60)
        response = self.page(request, "login_sent", {"minutes": minutes})
        login_links.keep_browser_nonce(
            response,
            self.kind,
            browser,
            max_age=settings.login_link_max_age,
            secure=settings.https_only,
        )
        return response

    # --- using it ------------------------------------------------------------------------------

    async def link_page(self, request: Request) -> Response:
        """GET of the mailed link: only a page (mail scanners follow links)."""
        token = str(request.path_params["token"])
        try:
            state = await login.open_link(
                audience=self.audience,
                token=token,
                browser=self.nonce(request),
                max_age=self.settings(request).login_link_max_age,
            )
        except LoginLinkError as exc:
            return self.problem(request, exc)
        action = login_links.link_path(self.kind, token)
        if state == "waiting":
            page = self.page(request, "identity/login_waiting.html", {"link": action})
        else:
            page = self.page(request, "login_confirm", {"action": action})
        return login_links.no_referrer(page)

    async def confirm(self, request: Request) -> Response:
        try:
            person = await login.confirm_login(
                audience=self.audience,
                token=str(request.path_params["token"]),
                browser=self.nonce(request),
                max_age=self.settings(request).login_link_max_age,
            )
        except LoginLinkError as exc:
            return self.problem(request, exc)
        return await self.logged_in(request, person)

    async def logged_in(self, request: Request, person: P) -> Response:
        landing = await self.pages.start(request, person)
        response = RedirectResponse(landing, status_code=303)
        settings = self.settings(request)
        login_links.forget_browser_nonce(response, self.kind, secure=settings.https_only)
        return login_links.no_referrer(response)

    # --- on another device ---------------------------------------------------------------------

    async def code(self, request: Request) -> Response:
        settings = self.settings(request)
        form = await request.form()
        try:
            person = await login.confirm_with_code(
                audience=self.audience,
                token=str(request.path_params["token"]),
                typed=_field(form, "code", other_device.MAX_TYPED),
                secret_key=settings.secret_key,
                max_age=settings.login_link_max_age,
            )
        except LoginLinkError as exc:
            return self.problem(request, exc)
        except other_device.WrongCode as exc:
            message = LoginLinkError("elsewhere").message
            return self.elsewhere(
                request, message, status_code=403, error=exc.message, remaining=exc.remaining
            )
        except other_device.MalformedCode as exc:
            message = LoginLinkError("elsewhere").message
            return self.elsewhere(request, message, status_code=422, error=exc.message)
        return await self.logged_in(request, person)

    async def ask_other(self, request: Request) -> Response:
        settings = self.settings(request)
        token = str(request.path_params["token"])
        browser = self.nonce(request) or login_links.new_secret()
        try:
            await other_device.ask_confirmation(
                kind=self.kind,
                token=token,
                browser=browser,
                device=_device(request),
                max_age=settings.login_link_max_age,
            )
        except LoginLinkError as exc:
            return self.problem(request, exc)
        except other_device.AlreadyAsked as exc:
            message = LoginLinkError("elsewhere").message
            return self.elsewhere(request, message, status_code=409, error=exc.message)
        response = RedirectResponse(login_links.link_path(self.kind, token), status_code=303)
        # This device's own nonce: the asking device's answer lets it (and only it) in.
        login_links.keep_browser_nonce(
            response,
            self.kind,
            browser,
            max_age=settings.login_link_max_age,
            secure=settings.https_only,
        )
        return login_links.no_referrer(response)

    async def asking_device(self, request: Request) -> Response:
        settings = self.settings(request)
        seen = await other_device.asking_device(
            kind=self.kind,
            browser=self.nonce(request),
            secret_key=settings.secret_key,
            max_age=settings.login_link_max_age,
        )
        done = request.query_params.get("fait")
        context = {
            "code": seen.code,
            "waiting": seen.waiting,
            "done": done if done in DONE else None,
            "minutes": max(1, settings.login_link_max_age // 60),
        }
        # The code is for this browser only: never kept by a cache.
        return self.page(request, "identity/other_device.html", context, private=True)

    async def answer(self, request: Request) -> Response:
        form = await request.form()
        choice = ANSWERS.get(_field(form, "reponse", 16))
        if choice is None:
            raise DeskError("Choisissez de confirmer ou de refuser cette connexion.")
        await other_device.answer(
            kind=self.kind,
            browser=self.nonce(request),
            ref=_field(form, "demande", 64),
            approve=choice,
            max_age=self.settings(request).login_link_max_age,
        )
        done = "confirme" if choice else "refuse"
        return RedirectResponse(f"{self.pages.prefix}/{OTHER_DEVICE}?fait={done}", status_code=303)
