"""Who is logged in: the resident named by the signed session cookie."""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request

from desk.db_rows import by_id
from desk.identity.session_rows import SCOPE_RESIDENT
from desk.residents.models import Resident
from desk.web.errors import wants_json

_UNSET = object()


def session_resident_id(request: Request) -> int | None:
    """The resident the session names, if its login is still fresh; no database read (whether
    the account still exists is the caller's to check)."""
    raw = request.session.get("resident_id")
    auth_at = request.session.get("auth_at")
    # The cookie's own expiry slides with each visit; a login still lasts session_max_age at most.
    fresh = (
        isinstance(auth_at, int)
        and time.time() - auth_at < request.app.state.settings.session_max_age
    )
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and fresh else None


async def current_resident(request: Request) -> Resident | None:
    """The logged-in resident, or None (no session, or the account no longer exists)."""
    cached = getattr(request.state, "resident", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    rid = session_resident_id(request)
    # Read with the session (desk.identity.session_rows) when the row names this resident.
    read = request.scope.get(SCOPE_RESIDENT)
    if rid is None:
        resident = None
    elif isinstance(read, tuple) and read[0] == rid:
        resident = read[1]
    else:
        resident = await by_id(Resident, rid)
    request.state.resident = resident
    return resident


async def require_resident(request: Request) -> Resident:
    """The logged-in resident; otherwise a 303 to the login page (401 for JSON clients)."""
    resident = await current_resident(request)
    if resident is not None:
        return resident
    if request.session.get("resident_id") is not None:
        request.session.clear()
    if wants_json(request):
        raise HTTPException(401, "Connectez-vous pour accéder à cette page.")
    raise HTTPException(
        303, "Connectez-vous pour accéder à votre espace.", headers={"Location": "/connexion"}
    )


async def start_session(request: Request, resident: Resident, *, method: str) -> str | None:
    """Log `resident` in on this browser (email link or FranceConnect); returns where a
    partner's deep link was taking them, if anywhere.

    The session is cleared first: nothing from before the login survives (session fixation),
    and the session middleware gives it a new id.
    """
    next_path = resident_next(request.session.get("next"))
    request.session.clear()
    request.session["resident_id"] = resident.id
    request.session["auth_at"] = int(time.time())
    request.session["auth_method"] = method
    # Emails follow the language the resident reads the desk in (chosen or from the browser).
    locale = getattr(request.state, "locale", resident.locale)
    if locale != resident.locale:
        await Resident.filter(id=resident.id).update(locale=locale)
    return next_path


# The resident's own space: the only place a login may send them back to.
SPACE_PREFIX = "/mon-espace/"


def resident_next(value: object) -> str | None:
    """Where to go after a resident logs in: only a page of the resident's own space."""
    if not isinstance(value, str) or not value.startswith(SPACE_PREFIX):
        return None
    if "//" in value or "\\" in value or ".." in value or len(value) > 300:
        return None
    if any(ord(c) < 33 for c in value):
        return None
    return value
