"""The dashboard's route (`/mon-espace`): the page rendered once per revision of what it shows
(desk.residents.pagecache), each form's submission key fresh at every load."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from desk.core import clock
from desk.residents import dashboard as dashboard_model
from desk.residents import pagecache, services, views
from desk.residents.auth import require_resident, session_resident_id
from desk.web.templating import render

FLASH = "flash"
# Stands for a submission key in a rendered page, replaced by a fresh key at every load (a
# double click on one form files once; two loads of the page file twice). Random per process:
# no page text can contain it.
_MARK = "sk" + secrets.token_urlsafe(24)
_MARK_BYTES = _MARK.encode("ascii")


def refresh_context(request: Request, *, waiting: bool, here: str) -> dict[str, Any]:
    """Refreshing by itself is the resident's choice (?actualiser=oui), never the default: a
    page that reloads under a screen reader or a slow connection loses the reader's place."""
    return {
        "refresh": waiting and request.query_params.get("actualiser") == "oui",
        "can_refresh": waiting,
        "here": here,
    }


def _key(request: Request, resident_id: int) -> tuple[object, ...] | None:
    """Everything besides the data that the page depends on; None when it shows a one-time
    message (never kept)."""
    session = request.session
    if session.get(FLASH) is not None:
        return None
    token = request.scope.get("csrftoken")
    return (
        resident_id,
        # The forms' CSRF token: bound to the session's id.
        token() if callable(token) else None,
        getattr(request.state, "locale", None),
        request.scope.get("query_string", b""),
        # Deadlines are worded in days from today ("dans 12 jours").
        clock.local(clock.now()).date(),
        # What the page's frame reads of the session (base.html: who is logged in); the person
        # changing gives a new session id, hence a new token above, anyway.
        session.get("resident_id"),
        session.get("staff_id"),
    )


def _until(model: dashboard_model.Dashboard) -> datetime | None:
    ends = [a.closes_at for a in model.asking if a.closes_at is not None]
    ends += [m.valid_until for m in model.mandates]
    return min(ends) if ends else None


def _page(parts: Iterable[bytes]) -> Response:
    body = bytearray()
    for n, part in enumerate(parts):
        if n:
            body += services.new_submission_key().encode("ascii")
        body += part
    return HTMLResponse(bytes(body))


async def dashboard(request: Request) -> Response:
    rid = session_resident_id(request)
    if rid is None:
        rid = (await require_resident(request)).id  # nobody logged in: it answers with a 303
    pages: pagecache.PageCache | None = getattr(request.app.state, "dashboard_pages", None)
    key = _key(request, rid) if pages is not None else None
    entry = pages.get(key) if pages is not None and key is not None else None
    # Before the page's data: a change made meanwhile makes this copy obsolete, not wrong.
    revision, landed, exists = await pagecache.read_revision(
        resident_id=rid, running=entry.revision.running if entry else ()
    )
    if not exists:
        await require_resident(request)  # the account is gone: to the login page
    if entry is not None and pages is not None:
        if pages.usable(entry, revision, landed=landed, now=clock.now()):
            return _page(entry.parts)
    model = await dashboard_model.build_dashboard(
        resident_id=rid, secret_key=request.app.state.settings.secret_key
    )
    rendered = render(
        request,
        "resident/dashboard.html",
        {
            "flash": request.session.pop(FLASH, None),
            "d": model,
            **refresh_context(request, waiting=model.waiting, here="/mon-espace"),
            "new_key": lambda: _MARK,
            "state_label": views.state_label,
            "kind_label": views.kind_label,
        },
    )
    parts = tuple(bytes(rendered.body).split(_MARK_BYTES))
    if pages is not None and key is not None:
        pages.put(
            key,
            pagecache.Entry(
                revision=revision,
                parts=parts,
                size=sum(len(p) for p in parts),
                made=time.monotonic(),
                until=_until(model),
            ),
        )
    return _page(parts)
