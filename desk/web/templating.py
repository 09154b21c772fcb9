"""The Jinja2 environment shared by pages and emails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from desk.core import clock
from desk.core.i18n import DEFAULT_LOCALE, translate
from desk.settings import PROJECT_ROOT
from desk.web import limits

TEMPLATE_DIR = PROJECT_ROOT / "templates"

MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _locale(ctx: Any) -> str:
    locale = ctx.get("locale")
    if locale:
        return str(locale)
    request = ctx.get("request")
    if request is not None:
        return str(getattr(request.state, "locale", DEFAULT_LOCALE))
    return DEFAULT_LOCALE


@pass_context
def gettext(ctx: Any, text: str, **values: object) -> str:
    return translate(text, _locale(ctx), **values)


def translator(locale: str) -> Callable[..., str]:
    """`_()` for one locale, without the template's context (see `render`)."""

    def gettext_in(text: str, **values: object) -> str:
        return translate(text, locale, **values)

    return gettext_in


def format_date(value: date | datetime | None, locale: str = DEFAULT_LOCALE) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = clock.local(value)
    months = MONTHS_EN if locale == "en" else MONTHS_FR
    if locale == "en":
        return f"{value.day} {months[value.month - 1]} {value.year}"
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {months[value.month - 1]} {value.year}"


def format_size(size: int, locale: str = DEFAULT_LOCALE) -> str:
    """A file size as people write it: "2,0 Ko" in French (comma, no-break space), "2.0 KB"."""
    kib = size / 1024
    if kib >= 1024:
        number, unit = kib / 1024, ("MB" if locale == "en" else "Mo")
    else:
        number, unit = kib, ("KB" if locale == "en" else "Ko")
    text = f"{number:.1f}"
    return f"{text}\u00a0{unit}" if locale == "en" else f"{text.replace('.', ',')}\u00a0{unit}"


@pass_context
def size_filter(ctx: Any, value: int) -> str:
    return format_size(value, _locale(ctx))


@pass_context
def date_filter(ctx: Any, value: date | datetime | None) -> str:
    return format_date(value, _locale(ctx))


@pass_context
def datetime_filter(ctx: Any, value: datetime | None) -> str:
    if value is None:
        return ""
    local = clock.local(value)
    joiner = " at " if _locale(ctx) == "en" else " à "
    return f"{format_date(local, _locale(ctx))}{joiner}{local:%H:%M}"


def deadline_words(
    due: date | datetime | None, locale: str = DEFAULT_LOCALE, *, today: date | None = None
) -> str:
    """A deadline in words, counted in calendar days in Brest (Europe/Paris):
    "dans 12 jours", "demain", "aujourd'hui", "en retard de 3 jours"."""
    if due is None:
        return ""
    due_day = clock.local(due).date() if isinstance(due, datetime) else due
    current = today or clock.local(clock.now()).date()
    days = (due_day - current).days
    if days == 0:
        return translate("aujourd'hui", locale)
    if days == 1:
        return translate("demain", locale)
    if days > 1:
        return translate("dans {count} jours", locale, count=days)
    if days == -1:
        return translate("en retard d'un jour", locale)
    return translate("en retard de {count} jours", locale, count=-days)


@pass_context
def deadline_filter(ctx: Any, value: date | datetime | None, today: date | None = None) -> str:
    """`{{ delivery.due_at|deadline }}`; a `today` in the context (or argument) fixes the date."""
    fixed = today or ctx.get("today")
    if isinstance(fixed, datetime):
        fixed = clock.local(fixed).date()
    return deadline_words(value, _locale(ctx), today=fixed if isinstance(fixed, date) else None)


@pass_context
def csrf_field(ctx: Any) -> Markup:
    request = ctx.get("request")
    token = (
        request.scope["csrftoken"]() if request is not None and "csrftoken" in request.scope else ""
    )
    return Markup(f'<input type="hidden" name="csrftoken" value="{escape(token)}">')


@pass_context
def lang_url(ctx: Any, locale: str) -> str:
    """The current page in another language, keeping its query (a receipt being verified...)."""
    request = ctx.get("request")
    if request is None:
        return f"?lang={locale}"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{route_path(request.scope)}?{urlencode([*query, ('lang', locale)])}"


def route_path(scope: Scope) -> str:
    """The path of the route that answered, rebuilt from its template and parameters.

    Never the raw path: `//evil.example/x` or `/\\evil.example` would make the language link
    lead to another site. A page that matched no route (404) links to the home page.
    """
    route = scope.get("route")
    if not isinstance(route, Route):
        return "/"
    params: dict[str, Any] = scope.get("path_params") or {}
    path = route.path_format
    for name, value in params.items():
        convertor = route.param_convertors.get(name)
        text = convertor.to_string(value) if convertor is not None else str(value)
        # Every character outside [A-Za-z0-9_.~-] encoded, "/" and "\\" included.
        path = path.replace("{" + name + "}", quote(text, safe=""))
    # Belt and braces: a template is "/" + a literal segment, but check what a browser sees.
    if not path.startswith("/") or path[1:2] in ("/", "\\") or "{" in path:
        return "/"
    return path


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with a deploy, which restarts the process: without this, every
        # render stats each template it extends, includes or imports (44 per dashboard).
        auto_reload=False,
    )
    env.globals["_"] = gettext
    env.globals["csrf_field"] = csrf_field
    env.globals["lang_url"] = lang_url
    env.filters["date"] = date_filter
    env.filters["filesize"] = size_filter
    env.filters["datetime"] = datetime_filter
    env.filters["deadline"] = deadline_filter
    # Each field's maximum, for its maxlength and its hint (desk.web.limits).
    env.globals["max_chars"] = limits.max_chars
    env.filters["count"] = limits.count
    return env


def build_templates(env: Environment) -> Jinja2Templates:
    return Jinja2Templates(env=env)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page with the app's templates (the one way routes answer with HTML)."""
    templates: Jinja2Templates = request.app.state.templates
    values = context or {}
    locale = values.setdefault("locale", getattr(request.state, "locale", DEFAULT_LOCALE))
    # A page calls `_()` hundreds of times. The global `_` needs the template's context to
    # find the locale, and Jinja copies that context for each such call made inside a loop;
    # bound to the locale, `_` needs no context (a third of the dashboard's render time).
    values.setdefault("_", translator(str(locale)))
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )
