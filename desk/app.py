"""create_app(settings): routes, middleware, lifespan. Wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from tortoise.exceptions import ValidationError

from desk import db, pages
from desk.backoffice import routes as backoffice_routes
from desk.charter import api as charter_api
from desk.charter import routes as charter_routes
from desk.core.errors import DeskError
from desk.explain import routes as explain_routes
from desk.helppoints import routes as helppoint_routes
from desk.holdings import api as partner_holdings
from desk.identity import session_pages
from desk.identity.sessions import ServerSessionMiddleware
from desk.jobs import build_worker
from desk.logs import configure_logging
from desk.mail import routes as mailbox_routes
from desk.mail.sink import MailSink
from desk.mediation import routes as mediation_routes
from desk.organisations import alerts_routes as organisation_alerts_routes
from desk.organisations import auth as organisation_auth
from desk.organisations import review_routes
from desk.organisations import routes as organisation_routes
from desk.partners import api as partner_api
from desk.partners import auth as api_auth
from desk.partners import openapi
from desk.partners import routes as partner_routes
from desk.receipts import log_routes as receipt_log_routes
from desk.receipts import routes as receipt_routes
from desk.registry import join_routes
from desk.registry import routes as registry_routes
from desk.residents import deeplinks, franceconnect_routes
from desk.residents import routes as resident_routes
from desk.residents.pagecache import PageCache
from desk.runtime import Runtime
from desk.settings import PROJECT_ROOT, Settings
from desk.staff import routes as staff_routes
from desk.statistics import routes as charter_public_routes
from desk.web import errors
from desk.web.csrf import CSRFMiddleware
from desk.web.health import HealthMiddleware
from desk.web.inputguard import InputGuardMiddleware
from desk.web.middleware import LocaleAndHeadersMiddleware
from desk.web.outage import DatabaseOutageMiddleware
from desk.web.ratelimit import RateLimiter, RateLimitMiddleware
from desk.web.requestlog import RequestLogMiddleware
from desk.web.templating import build_templates


def create_app(
    settings: Settings, *, run_worker: bool = False, mail_sink: MailSink | None = None
) -> Starlette:
    runtime = Runtime.build(settings)
    rate_limiter = RateLimiter(settings)
    routes: list[BaseRoute] = [
        *pages.routes,
        *explain_routes.routes,
        *charter_public_routes.routes,
        *join_routes.routes,
        *registry_routes.routes,
        *resident_routes.routes,
        *franceconnect_routes.routes,
        *deeplinks.routes,
        *staff_routes.routes,
        *session_pages.routes,
        *backoffice_routes.routes,
        *review_routes.routes,
        *organisation_auth.routes,
        *organisation_routes.routes,
        *organisation_alerts_routes.routes,
        *mediation_routes.routes,
        *helppoint_routes.routes,
        *partner_routes.routes,
        *api_auth.routes,
        *openapi.routes,
        *partner_api.routes,
        *partner_holdings.routes,
        *receipt_log_routes.routes,
        *receipt_routes.routes,
        *charter_routes.routes,
        *charter_api.routes,
        Mount("/static", app=StaticFiles(directory=str(PROJECT_ROOT / "static")), name="static"),
    ]
    if settings.demo and mail_sink is not None:
        routes += mailbox_routes.routes

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init_db(settings.database_url)
        worker = build_worker(runtime) if run_worker else None
        task = asyncio.create_task(worker.run_forever()) if worker else None
        try:
            yield
        finally:
            if worker and task:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            await db.close_db()

    app = Starlette(
        routes=routes,
        middleware=[
            # Outermost: every answer (health probes and 503s included) gets its request id
            # and its one log line.
            Middleware(RequestLogMiddleware),
            # Outside health probes: /healthz and /readyz carry the security headers too.
            Middleware(LocaleAndHeadersMiddleware),
            Middleware(HealthMiddleware),
            # Outside sessions: a session store that cannot reach the database gives a 503 too.
            Middleware(DatabaseOutageMiddleware),
            # Outside CSRF: a logged-in session's token is bound to its id.
            Middleware(ServerSessionMiddleware, settings=settings),
            Middleware(
                CSRFMiddleware,
                secret=settings.secret_key,
                failed=errors.csrf_failed,
                cookie_secure=settings.https_only,
                max_upload=settings.upload_max_bytes,
                trusted_origins=(_origin(settings.base_url),),
            ),
            # Inside sessions: an answer form is counted per resident too.
            Middleware(RateLimitMiddleware, limiter=rate_limiter),
            # NUL characters never reach a route (PostgreSQL text cannot hold them); inside
            # sessions, whose data the refusal page shows (who is logged in).
            Middleware(InputGuardMiddleware),
        ],
        exception_handlers={
            HTTPException: errors.http_exception,
            errors.ApiProblem: errors.api_problem,
            DeskError: errors.request_error,
            # The ORM's own check of a value against its column: the class of "too long for
            # its column" errors answered as the sender's mistake, whatever the route.
            ValidationError: errors.invalid_value,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.rate_limiter = rate_limiter
    app.state.templates = build_templates(runtime.env)
    # Rendered dashboards, valid while their revision holds (desk.residents.pagecache).
    app.state.dashboard_pages = PageCache()
    app.state.mail_sink = mail_sink
    return app


def app_from_env() -> Starlette:
    """The app factory `desk serve` hands uvicorn (`desk.app:app_from_env`, factory=True): each
    worker process builds its own app from the environment, and configures its own logging."""

    settings = Settings.from_env()
    configure_logging(settings.log_format or "json", settings.log_level)
    app = create_app(settings)
    # What lives for the process (modules, models, routes, templates' code) set aside from the
    # cyclic garbage collector: its full collections scanned those 70,000 objects, a 25-30 ms
    # pause every few hundred filings (bench/concurrent_load.py's p99).
    gc.collect()
    gc.freeze()
    return app


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL (the public address's origin, as browsers send it)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
