"""The committee's composition, kept by the desk's administrators in the back office.

Members are public office holders: what is typed here (name, college, office, mandate dates)
is published on /charte/comite.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import composition, pages
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.staff.auth import require_staff
from desk.staff.models import StaffRole
from desk.staff.pages import staff_page
from desk.web.limits import ascii_id

FIELDS = ("full_name", "college", "office", "mandate_start", "mandate_end")
FLASH_SAVED = N_("C'est enregistré et publié sur la page du comité.")


async def _page(
    request: Request, *, status: int = 200, error: str = "", error_seat: int = 0,
    values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    staff = await require_staff(request, StaffRole.ADMIN)
    return staff_page(
        request,
        "backoffice/committee_seats.html",
        staff,
        {
            "seats": await composition.seats(),
            "COLLEGE_LABELS": composition.COLLEGE_LABELS,
            "error": error,
            "error_seat": error_seat,
            "values": values or {},
            "flash": request.session.pop("flash", None) if status == 200 else None,
        },
        status,
        helpers={},
    )


async def seats_page(request: Request) -> Response:
    return await _page(request)


def _values(form: FormData) -> dict[str, str]:
    return {name: pages.field(form, name) for name in FIELDS}


async def seat_add(request: Request) -> Response:
    staff = await require_staff(request, StaffRole.ADMIN)
    values = _values(await request.form())
    try:
        await composition.add_seat(
            name=values["full_name"], college=values["college"], office=values["office"],
            start=values["mandate_start"], end=values["mandate_end"], actor=f"staff:{staff.id}",
        )  # fmt: skip
    except DeskError as exc:
        return await _page(request, status=422, error=exc.message, values=values)
    request.session["flash"] = FLASH_SAVED
    return RedirectResponse("/back-office/comite", status_code=303)


async def seat_update(request: Request) -> Response:
    staff = await require_staff(request, StaffRole.ADMIN)
    seat_id = ascii_id(str(request.path_params["seat_id"]))
    if seat_id is None:
        raise HTTPException(404, composition.MSG_SEAT)
    values = _values(await request.form())
    try:
        await composition.update_seat(
            seat_id=seat_id, name=values["full_name"], college=values["college"],
            office=values["office"], start=values["mandate_start"], end=values["mandate_end"],
            actor=f"staff:{staff.id}",
        )  # fmt: skip
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _page(
            request, status=status_of(exc, default=422), error=exc.message, error_seat=seat_id
        )
    request.session["flash"] = FLASH_SAVED
    return RedirectResponse("/back-office/comite", status_code=303)


routes: list[BaseRoute] = [
    Route("/back-office/comite", seats_page, methods=["GET"], name="charter:seats"),
    Route("/back-office/comite", seat_add, methods=["POST"], name="charter:seat_add"),
    Route(
        "/back-office/comite/{seat_id}", seat_update, methods=["POST"], name="charter:seat_update"
    ),
]
