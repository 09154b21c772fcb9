"""Error answers: French HTML pages for people, RFC 9457 problem+json for machines."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from markupsafe import escape
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope, Send
from tortoise.exceptions import ValidationError

from desk.core.errors import DeskError, status_of
from desk.core.i18n import translate
from desk.core.translatable import N_
from desk.web.i18n import locale_of
from desk.web.middleware import security_headers
from desk.web.requestlog import route_template
from desk.web.templating import render

log = logging.getLogger("desk.web")

TITLES_FR = {
    400: N_("Demande incorrecte"),
    403: N_("Accès refusé"),
    404: N_("Page introuvable"),
    405: N_("Méthode non autorisée"),
    409: N_("Action impossible"),
    410: "Lien expiré",
    413: N_("Fichier trop volumineux"),
    415: N_("Type de fichier refusé"),
    422: N_("Informations incorrectes"),
    429: "Trop de demandes",
    500: N_("Erreur du service"),
    503: "Service momentanément indisponible",
}

DETAILS_FR = {
    404: N_("L'adresse demandée n'existe pas ou plus. Vérifiez le lien, ou revenez à l'accueil."),
    405: N_("Cette adresse ne s'utilise pas ainsi."),
    500: N_(
        "Une erreur s'est produite de notre côté. Votre demande n'a pas été perdue : "
        "réessayez dans quelques minutes."
    ),
}


class ApiProblem(Exception):
    """An API refusal: answered as application/problem+json with a French `detail`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = headers or {}
        self.extra = extra


async def api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    response = problem(exc.status, exc.detail, title=exc.title, **exc.extra)
    response.headers.update(exc.headers)
    return response


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(
        ("/api/", "/oauth/", "/.well-known/")
    ) or request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept or "application/problem+json" in accept


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or TITLES_FR.get(status, "Erreur"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def error_page(request: Request, status: int, detail: str, *, title: str | None = None) -> Response:
    if wants_json(request):
        return problem(status, detail, title=title)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title or TITLES_FR.get(status, "Erreur"), "detail": detail},
        status_code=status,
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = (
        exc.detail
        if exc.detail and exc.detail != _default_phrase(exc.status_code)
        else DETAILS_FR.get(exc.status_code, TITLES_FR.get(exc.status_code, "Erreur"))
    )
    response = error_page(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


INVALID_VALUE = N_(
    "Une des valeurs envoyées est trop longue ou mal formée pour être enregistrée. "
    "Vérifiez ce que vous avez saisi, puis réessayez."
)


async def invalid_value(request: Request, exc: Exception) -> Response:
    """A value the ORM refused before writing or querying (longer than its column, say): the
    sender's error, so a 422 (a French page, or problem+json), never a 500 with a traceback."""
    assert isinstance(exc, ValidationError)
    # The field's name only: the message quotes the value, which may be anything pasted.
    field = str(exc).split(":", 1)[0][:64]
    log.warning(
        "value refused by the model (%s) on %s %s",
        field,
        request.method,
        route_template(request.scope),
    )
    return error_page(request, 422, INVALID_VALUE)


async def request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DeskError)
    return error_page(request, status_of(exc, default=400), exc.message)


async def server_error(request: Request, exc: Exception) -> Response:
    # The route template, not the path: paths carry login and answer tokens.
    log.exception("unhandled error on %s %s", request.method, route_template(request.scope))
    response = error_page(request, 500, DETAILS_FR[500])
    # Starlette answers this from its outermost layer, outside LocaleAndHeadersMiddleware:
    # the page gets the same protections as every other answer here.
    settings = getattr(request.app.state, "settings", None)
    for name, value in security_headers(https_only=bool(getattr(settings, "https_only", False))):
        response.headers[name.decode()] = value.decode()
    response.headers["cache-control"] = "no-store"
    return response


def _default_phrase(status: int) -> str:

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_CSRF_PAGES = {
    403: (
        N_("Formulaire expiré ou incomplet"),
        N_(
            "Pour votre sécurité, ce formulaire n'a pas pu être accepté (jeton de sécurité absent "
            "ou périmé). Revenez à la page précédente, rechargez-la, puis envoyez le formulaire à "
            "nouveau."
        ),
    ),
    413: (
        N_("Formulaire trop volumineux"),
        N_(
            "Ce formulaire contient trop de texte pour être accepté. Raccourcissez-le et réessayez."
        ),
    ),
    400: (
        N_("Formulaire illisible"),
        N_("Ce formulaire n'a pas pu être lu. Revenez à la page précédente et réessayez."),
    ),
}


async def csrf_failed(scope: Scope, send: Send, status: int, reason: str) -> None:
    """The CSRF middleware's refusal, in French (HTML, or problem+json for JSON clients)."""
    title, detail = _CSRF_PAGES.get(status, _CSRF_PAGES[403])
    headers = dict(scope.get("headers") or [])
    # Answered before the app runs (no request.state.locale): same choice, from the scope.
    locale = locale_of(HTTPConnection(scope))
    if b"json" in headers.get(b"accept", b""):
        body = json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail},
            ensure_ascii=False,
        ).encode()
        content_type = b"application/problem+json"
    else:
        title, detail = escape(translate(title, locale)), escape(translate(detail, locale))
        home = escape(translate("Retour à l'accueil", locale))
        body = (
            f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
            f"<title>{title}</title>"
            f'<link rel="stylesheet" href="/static/desk.css"></head><body><main class="wrap">'
            f'<h1>{title}</h1><p class="notice notice-error" role="alert">{detail}</p>'
            f'<p><a href="/">{home}</a></p></main></body></html>'
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
