"""Who is logged in as staff: the member named by the signed session cookie, for 2 hours at most.

Staff keys (staff_id, staff_auth_at) live beside the resident's (resident_id, auth_at) and are
checked separately: being logged in as a resident opens nothing here, and the reverse.
An administrator passes every role check.
"""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request

from desk.settings import Settings
from desk.staff.models import StaffMember, StaffRole
from desk.web.errors import wants_json

# Shorter than a resident's: staff pages show many people's requests, often on shared desks.
# The default of settings.staff_session_max_age, which the server-side session also obeys.
STAFF_SESSION_SECONDS = Settings.staff_session_max_age
STAFF_KEYS = ("staff_id", "staff_auth_at")
NEXT_KEY = "staff_next"
NOTICE_KEY = "staff_notice"
LOGIN_PATH = "/equipe/connexion"

_UNSET = object()


def start_staff_session(request: Request, staff: StaffMember) -> None:
    request.session["staff_id"] = staff.id
    request.session["staff_auth_at"] = int(time.time())
    request.state.staff = staff


def end_staff_session(request: Request) -> None:
    for key in STAFF_KEYS:
        request.session.pop(key, None)
    request.state.staff = None


def _fresh(auth_at: object, max_age: int) -> bool:
    if not isinstance(auth_at, int) or isinstance(auth_at, bool):
        return False
    age = time.time() - auth_at
    return 0 <= age < max_age


async def current_staff(request: Request) -> StaffMember | None:
    """The logged-in, active staff member, or None (no session, expired, or deactivated)."""
    cached = getattr(request.state, "staff", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    raw = request.session.get("staff_id")
    staff = None
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and _fresh(
            request.session.get("staff_auth_at"),
            request.app.state.settings.staff_session_max_age,
        )
    ):
        staff = await StaffMember.filter(id=raw, active=True).first()
    request.state.staff = staff
    return staff


def safe_next(value: object) -> str | None:
    """A local path to go back to after login; anything else (another site...) is dropped."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or len(value) > 300 or any(ord(c) < 32 for c in value):
        return None
    return value


def allowed(staff: StaffMember, roles: tuple[StaffRole | str, ...]) -> bool:
    if not roles or staff.role == StaffRole.ADMIN:
        return True
    return staff.role in {StaffRole(r) for r in roles}


async def require_staff(request: Request, *roles: StaffRole | str) -> StaffMember:
    """The logged-in staff member holding one of `roles` (any role when none is given).

    Not logged in (or the 2 hours are over): a 303 to the staff login page (401 for JSON
    clients). Logged in with another role: a 403 French page.
    """
    staff = await current_staff(request)
    if staff is None:
        if request.session.get("staff_id") is not None:
            end_staff_session(request)
            # Not "flash": the 303 answer's own page would consume it before the login page.
            request.session[NOTICE_KEY] = "expired"
        if wants_json(request):
            raise HTTPException(401, "Connectez-vous avec votre compte d'équipe.")
        if request.method == "GET":
            request.session[NEXT_KEY] = request.url.path
        raise HTTPException(
            303, "Connectez-vous avec votre compte d'équipe.", headers={"Location": LOGIN_PATH}
        )
    if not allowed(staff, roles):
        raise HTTPException(
            403,
            "Votre rôle ne donne pas accès à cette page. Si vous en avez besoin, "
            "demandez-le à un administrateur du guichet.",
        )
    return staff
