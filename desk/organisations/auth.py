"""Who is logged in to an organisation's space: the member the session names, 2 hours at most.

Like staff (desk.staff.auth), with keys of its own (member_id, member_auth_at): being logged in
as staff or as a resident opens nothing here, and the reverse. Every page of the space is
filtered by the member's own signatory: an organisation's people see only their organisation.
"""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request

from desk.organisations.models import MemberRole, OrganisationMember
from desk.web.errors import wants_json

MEMBER_KEYS = ("member_id", "member_auth_at")
NEXT_KEY = "member_next"
LOGIN_PATH = "/organisation/connexion"
_UNSET = object()


def start_member_session(request: Request, member: OrganisationMember) -> None:
    request.session["member_id"] = member.id
    request.session["member_auth_at"] = int(time.time())
    request.state.member = member


def end_member_session(request: Request) -> None:
    for key in MEMBER_KEYS:
        request.session.pop(key, None)
    request.state.member = None


async def current_member(request: Request) -> OrganisationMember | None:
    cached = getattr(request.state, "member", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    raw = request.session.get("member_id")
    auth_at = request.session.get("member_auth_at")
    member = None
    max_age = request.app.state.settings.staff_session_max_age
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and isinstance(auth_at, int)
        and 0 <= time.time() - auth_at < max_age
    ):
        member = (
            await OrganisationMember.filter(id=raw, active=True).select_related("signatory").first()
        )
    request.state.member = member
    return member


async def require_member(request: Request, *roles: MemberRole) -> OrganisationMember:
    """The logged-in member (holding one of `roles` when given); else a 303 to the login page,
    or a 403 page for a member whose role does not allow it."""
    member = await current_member(request)
    if member is None:
        if wants_json(request):
            raise HTTPException(401, "Connectez-vous à l'espace de votre organisation.")
        if request.method == "GET":
            request.session[NEXT_KEY] = request.url.path
        raise HTTPException(
            303,
            "Connectez-vous à l'espace de votre organisation.",
            headers={"Location": LOGIN_PATH},
        )
    if roles and member.role not in roles:
        raise HTTPException(
            403,
            "Seul le délégué à la protection des données (DPO) de votre organisation peut "
            "faire cela. Demandez-le-lui.",
        )
    return member
