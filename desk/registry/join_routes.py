"""The public "Rejoindre la charte" form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from desk.registry import joining
from desk.registry.services import KIND_LABELS
from desk.web.templating import render

FIELDS = (
    "name", "kind", "siret", "address", "website",
    "dpo_name", "dpo_email", "applicant_name", "applicant_email",
)  # fmt: skip


def _form_page(
    request: Request, form: joining.ApplicationForm, *, status_code: int = 200
) -> Response:
    return render(
        request,
        "public/join.html",
        {"form": form, "KIND_LABELS": KIND_LABELS},
        status_code=status_code,
    )


async def join_form(request: Request) -> Response:
    return _form_page(request, joining.ApplicationForm())


async def join_submit(request: Request) -> Response:
    data = await request.form()
    values = {name: str(data.get(name) or "") for name in FIELDS}
    form = joining.ApplicationForm(**values)
    try:
        application = await joining.submit_application(form=form)
    except joining.ApplicationInvalid as exc:
        form.errors = exc.errors
        return _form_page(request, form, status_code=422)
    return render(
        request,
        "public/join_sent.html",
        {"application": application},
        headers={"cache-control": "no-store"},
    )


routes: list[BaseRoute] = [
    Route("/charte/rejoindre", join_form, methods=["GET"], name="registry:join"),
    Route("/charte/rejoindre", join_submit, methods=["POST"], name="registry:join_submit"),
]
