"""create_app(settings): routes, middleware, lifespan. Wiring only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from desk import db
from desk.backoffice import routes as backoffice_routes
from desk.charter import api as charter_api
from desk.charter import public_routes as charter_public_routes
from desk.charter import routes as charter_routes
from desk.explain import routes as explain_routes
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.mediation import routes as mediation_routes
from desk.partners import api as partner_api
from desk.partners import api_auth, openapi
from desk.partners import holdings as partner_holdings
from desk.partners import routes as partner_routes
from desk.receipts import routes as receipt_routes
from desk.registry import routes as registry_routes
from desk.requests.errors import RequestError
from desk.residents import deeplinks
from desk.residents import routes as resident_routes
from desk.runtime import Runtime
from desk.settings import PROJECT_ROOT, Settings
from desk.staff import routes as staff_routes
from desk.web import errors, pages
from desk.web.csrf import CSRFMiddleware
from desk.web.middleware import LocaleAndHeadersMiddleware
from desk.web.templating import build_templates


def create_app(
    settings: Settings, *, run_worker: bool = False, mail_sink: MailSink | None = None
) -> Starlette:
    runtime = Runtime.build(settings)
    routes: list[BaseRoute] = [
        *pages.routes,
        *explain_routes.routes,
        *charter_public_routes.routes,
        *registry_routes.routes,
        *resident_routes.routes,
        *deeplinks.routes,
        *staff_routes.routes,
        *backoffice_routes.routes,
        *mediation_routes.routes,
        *partner_routes.routes,
        *api_auth.routes,
        *openapi.routes,
        *partner_api.routes,
        *partner_holdings.routes,
        *receipt_routes.routes,
        *charter_routes.routes,
        *charter_api.routes,
        Mount("/static", app=StaticFiles(directory=str(PROJECT_ROOT / "static")), name="static"),
    ]
    if settings.demo and mail_sink is not None:
        from desk.mail import routes as mailbox_routes

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
            Middleware(LocaleAndHeadersMiddleware),
            Middleware(
                CSRFMiddleware,
                secret=settings.secret_key,
                failed=errors.csrf_failed,
                cookie_secure=settings.https_only,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="desk_session",
                max_age=settings.session_max_age,
                same_site="lax",
                https_only=settings.https_only,
            ),
        ],
        exception_handlers={
            HTTPException: errors.http_exception,
            errors.ApiProblem: errors.api_problem,
            RequestError: errors.request_error,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.templates = build_templates(runtime.env)
    app.state.mail_sink = mail_sink
    return app
