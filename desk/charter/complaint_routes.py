"""A resident's complaint to the charter's ethics committee about one of their deliveries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import complaints, pages
from desk.charter.jobs import CNIL_COMPLAINT_URL
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.residents.auth import require_resident
from desk.web.templating import render

FLASH_COMPLAINT = N_("Votre réclamation a été transmise au comité d'éthique de la charte.")


async def _complaint_page(
    request: Request, *, status: int = 200, error: str | None = None, text: str = ""
) -> Response:
    resident = await require_resident(request)
    delivery_id = pages.int_param(request, "delivery_id")
    delivery = await complaints.delivery_of_resident(
        resident_id=resident.id, delivery_id=delivery_id
    )
    filed = await complaints.complaints_of(resident_id=resident.id, delivery_id=delivery.id)
    return render(
        request,
        "charter/complaint.html",
        {
            "delivery": delivery,
            "filed": filed,
            "error": error,
            "text": text,
            "now": clock.now(),
            "cnil_url": CNIL_COMPLAINT_URL,
            "flash": request.session.pop("flash", None) if status == 200 else None,
        },
        status_code=status,
        headers=pages.PRIVATE_HEADERS,
    )


async def complaint_form(request: Request) -> Response:
    return await _complaint_page(request)


async def complaint_submit(request: Request) -> Response:
    resident = await require_resident(request)
    delivery_id = pages.int_param(request, "delivery_id")
    form = await request.form()
    text = pages.field(form, "text")
    try:
        await complaints.file_complaint(
            resident_id=resident.id, delivery_id=delivery_id, text=text, now=clock.now()
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _complaint_page(request, status=422, error=exc.message, text=text[:5000])
    request.session["flash"] = FLASH_COMPLAINT
    return RedirectResponse(f"/mon-espace/reclamations/{delivery_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/mon-espace/reclamations/{delivery_id}", complaint_form, name="charter:complaint"),
    Route(
        "/mon-espace/reclamations/{delivery_id}",
        complaint_submit,
        methods=["POST"],
        name="charter:complaint_submit",
    ),
]
