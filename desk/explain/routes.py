"""/comprendre: plain-language sheets on personal data, rights and the desk's words."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError
from desk.core.legal_bases import LEGAL_BASIS_EXPLANATIONS, LEGAL_BASIS_LABELS
from desk.core.translatable import N_
from desk.explain.topics import all_topics, get_topic, grouped
from desk.web.templating import render

NOT_FOUND_FR = N_(
    "Cette fiche n'existe pas. Retrouvez toutes les explications sur la page "
    "« Comprendre mes données »."
)


async def index(request: Request) -> Response:
    return render(request, "explain/index.html", {"groups": grouped()})


async def topic(request: Request) -> Response:
    found = get_topic(str(request.path_params["topic"]))
    if found is None:
        raise DeskError(NOT_FOUND_FR, code="not_found")
    topics = {t.slug: t for t in all_topics()}
    return render(
        request,
        f"explain/{found.slug}.html",
        {
            "topic": found,
            "related": [topics[slug] for slug in found.related if slug in topics],
            "page_url": request.app.state.settings.url(found.path),
            # The same wording as the register's declarations, so both pages agree.
            "legal_bases": [
                (label, LEGAL_BASIS_EXPLANATIONS.get(code, ""))
                for code, label in LEGAL_BASIS_LABELS.items()
            ],
        },
    )


routes: list[BaseRoute] = [
    Route("/comprendre", index, name="explain:index"),
    Route("/comprendre/{topic}", topic, name="explain:topic"),
]
