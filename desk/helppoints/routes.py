"""The help points' pages: the public directory, its open data, and the staff's forms (thin)."""

from __future__ import annotations

from functools import partial

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.helppoints import assignment, opendata, services
from desk.helppoints.services import HelpPointForm
from desk.staff.auth import require_staff
from desk.staff.models import StaffMember, StaffRole
from desk.staff.pages import staff_page
from desk.web.limits import ascii_id
from desk.web.templating import render

ROLES = (StaffRole.BACK_OFFICE, StaffRole.ADMIN)
# Open data: any site may reuse it; it changes rarely.
OPEN_DATA_HEADERS = {"access-control-allow-origin": "*", "cache-control": "public, max-age=300"}
FLASH_CREATED = N_("Le point d'aide est ajouté à l'annuaire.")
FLASH_SAVED = N_("La fiche du point d'aide est enregistrée.")
FLASH_ASSIGNED = N_("Le point d'aide du médiateur est enregistré.")
LIMITS = {
    "name": services.NAME_MAX,
    "street": services.STREET_MAX,
    "city": services.CITY_MAX,
}

_page = partial(staff_page, helpers={"limits": LIMITS})


# --- the public directory ------------------------------------------------------------------------


async def directory(request: Request) -> Response:
    city = request.query_params.get("commune", "").strip()[:100]
    language = request.query_params.get("langue", "").strip()[:60]
    cities, languages = await services.directory_choices()
    # An unknown town or language in the address shows every point, not an empty page.
    city = city if city in cities else ""
    language = language if language in languages else ""
    points = await services.published_help_points(city=city, language=language)
    return render(
        request,
        "helppoints/directory.html",
        {
            "points": points,
            "cities": cities,
            "languages": languages,
            "city": city,
            "language": language,
        },
    )


async def open_data_csv(request: Request) -> Response:
    name = opendata.DATASET
    return Response(
        opendata.to_csv(await opendata.rows()),
        media_type="text/csv; charset=utf-8",
        headers={
            **OPEN_DATA_HEADERS,
            "content-disposition": f'attachment; filename="{name}.csv"',
            "link": f'</donnees-ouvertes/{name}.schema.json>; rel="describedby"',
        },
    )


async def open_data_json(request: Request) -> Response:
    return JSONResponse(await opendata.rows(), headers=OPEN_DATA_HEADERS)


async def open_data_schema(request: Request) -> Response:
    return JSONResponse(
        opendata.published_schema(base_url=request.app.state.settings.base_url),
        media_type="application/schema+json",
        headers=OPEN_DATA_HEADERS,
    )


# --- the staff's forms ---------------------------------------------------------------------------


async def _staff(request: Request) -> StaffMember:
    return await require_staff(request, *ROLES)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _read(form: FormData) -> HelpPointForm:
    return HelpPointForm(
        name=_field(form, "name"),
        street=_field(form, "street"),
        postcode=_field(form, "postcode"),
        city=_field(form, "city"),
        opening_hours=_field(form, "opening_hours"),
        phone=_field(form, "phone"),
        accessibility=_field(form, "accessibility"),
        languages=_field(form, "languages"),
        published=_field(form, "published") == "1",
    )


def _hid(request: Request) -> int:
    found = ascii_id(str(request.path_params.get("hid", "")), max_digits=9)
    if found is None:
        raise DeskError(services.NOT_FOUND, code="not_found")
    return found


async def _list_page(
    request: Request,
    staff: StaffMember,
    *,
    error: str | None = None,
    failed_id: int | None = None,
    status: int = 200,
) -> Response:
    context = {
        "points": await services.all_help_points(),
        "mediators": await assignment.accounts(),
        "names": await assignment.published_names(),
        "may_assign": staff.role == StaffRole.ADMIN,
        "error": error,
        "failed_id": failed_id,
    }
    return _page(request, "helppoints/staff_list.html", staff, context, status_code=status)


async def staff_list(request: Request) -> Response:
    return await _list_page(request, await _staff(request))


async def assign(request: Request) -> Response:
    """An administrator chooses a mediator's help point from the directory's published names."""
    staff = await require_staff(request, StaffRole.ADMIN)
    found = ascii_id(str(request.path_params.get("sid", "")), max_digits=9)
    if found is None:
        raise DeskError(assignment.STAFF_NOT_FOUND, code="not_found")
    chosen = _field(await request.form(), "help_point")
    try:
        await assignment.set_help_point(
            staff_id=found, help_point=chosen, actor=f"staff:{staff.id}"
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _list_page(
            request, staff, error=exc.message, failed_id=found, status=status_of(exc, default=422)
        )
    request.session["flash"] = FLASH_ASSIGNED
    return RedirectResponse("/back-office/points-d-aide#mediateurs", status_code=303)


def _form_page(
    request: Request,
    staff: StaffMember,
    form: HelpPointForm,
    *,
    point_id: int | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return _page(
        request,
        "helppoints/staff_form.html",
        staff,
        {"f": form, "point_id": point_id, "error": error},
        status_code=status,
    )


async def new_form(request: Request) -> Response:
    staff = await _staff(request)
    return _form_page(request, staff, HelpPointForm(), point_id=None)


async def create(request: Request) -> Response:
    staff = await _staff(request)
    form = _read(await request.form())
    try:
        await services.create_help_point(form=form, actor=f"staff:{staff.id}")
    except DeskError as exc:
        return _form_page(
            request, staff, form, point_id=None, error=exc.message,
            status=status_of(exc, default=422),
        )  # fmt: skip
    request.session["flash"] = FLASH_CREATED
    return RedirectResponse("/back-office/points-d-aide", status_code=303)


async def edit_form(request: Request) -> Response:
    staff = await _staff(request)
    point = await services.help_point(help_point_id=_hid(request))
    return _form_page(request, staff, services.form_of(point), point_id=point.id)


async def update(request: Request) -> Response:
    staff = await _staff(request)
    hid = _hid(request)
    await services.help_point(help_point_id=hid)  # an unknown id is a 404 whatever the form says
    form = _read(await request.form())
    try:
        await services.update_help_point(help_point_id=hid, form=form, actor=f"staff:{staff.id}")
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return _form_page(
            request, staff, form, point_id=hid, error=exc.message,
            status=status_of(exc, default=422),
        )  # fmt: skip
    request.session["flash"] = FLASH_SAVED
    return RedirectResponse("/back-office/points-d-aide", status_code=303)


routes: list[BaseRoute] = [
    Route("/points-d-aide", directory, methods=["GET"], name="helppoints:directory"),
    Route(
        f"/donnees-ouvertes/{opendata.DATASET}.csv",
        open_data_csv,
        methods=["GET"],
        name="helppoints:open_data_csv",
    ),
    Route(
        f"/donnees-ouvertes/{opendata.DATASET}.json",
        open_data_json,
        methods=["GET"],
        name="helppoints:open_data_json",
    ),
    Route(
        f"/donnees-ouvertes/{opendata.DATASET}.schema.json",
        open_data_schema,
        methods=["GET"],
        name="helppoints:open_data_schema",
    ),
    Route("/back-office/points-d-aide", staff_list, methods=["GET"], name="helppoints:staff"),
    Route(
        "/back-office/points-d-aide/nouveau",
        new_form,
        methods=["GET"],
        name="helppoints:new",
    ),
    Route(
        "/back-office/points-d-aide/nouveau",
        create,
        methods=["POST"],
        name="helppoints:create",
    ),
    Route(
        "/back-office/points-d-aide/mediateurs/{sid}",
        assign,
        methods=["POST"],
        name="helppoints:assign",
    ),
    Route("/back-office/points-d-aide/{hid}", edit_form, methods=["GET"], name="helppoints:edit"),
    Route("/back-office/points-d-aide/{hid}", update, methods=["POST"], name="helppoints:update"),
]
