"""A reference partner: a small stand-in for a signatory's information system.

For the demo, the tests and the benchmarks, it plays both kinds of connected partner:

- it RECEIVES the desk's webhooks at POST /webhooks/desk, checks their Standard Webhooks
  signature (rejecting stale timestamps and exact replays), records them and, when
  `auto_answer` is on, answers through the desk's partner API over HTTP (client credentials at
  {desk}/oauth/token, then POST {desk}/api/v1/deliveries/{id}/fulfil);
- it SERVES a Data Rights Protocol–style API for the rest adapter:
  POST /v1/data-rights-request and GET /v1/data-rights-request/{id}, from memory. A request is
  "in_progress" on its first poll and "fulfilled" (with a plausible result) from then on.

Its parts: `reference_state` (what it remembers), `reference_webhooks` (receiving and
answering), `reference_drp` (the rights API), `serving` (uvicorn on a free port). This module
assembles the app and runs it from the command line.

Run it alone with `python -m desk.demo.reference_partner --port 8100 --desk-url ... `.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from desk.demo.reference_drp import create_request, request_status
from desk.demo.reference_state import PartnerState
from desk.demo.reference_webhooks import answer_delivery, desk_client, receive_webhook
from desk.demo.serving import serve_in_thread, serving
from desk.partners.webhooks import new_secret

# What tests, benchmarks and the demo import from here.
__all__ = [
    "PartnerState",
    "WebhookFirst",
    "answer_delivery",
    "create_reference_partner",
    "main",
    "serve_in_thread",
    "serving",
]


@contextlib.asynccontextmanager
async def _kept_client(app: Starlette) -> AsyncIterator[None]:
    """While the app runs, its answers share one kept-alive client to the desk: a client and
    a TCP connection per answer were a third of the simulator's time (bench/concurrent_load.py)."""
    state: PartnerState = app.state.partner
    async with desk_client(state) as client:
        state.desk_client = client
        try:
            yield
        finally:
            state.desk_client = None


def create_reference_partner(
    *,
    desk_base_url: str,
    client_id: str,
    client_secret: str,
    webhook_secrets: Sequence[str],
    auto_answer: bool = True,
    api_token: str | None = None,
    unknown_emails: Iterable[str] = (),
) -> Starlette:
    """The reference partner app; its record of what happened is `app.state.partner`."""
    app = Starlette(
        lifespan=_kept_client,
        routes=[
            Route(WEBHOOK_PATH, receive_webhook, methods=["POST"]),
            Route("/v1/data-rights-request", create_request, methods=["POST"]),
            Route("/v1/data-rights-request/{request_id}", request_status, methods=["GET"]),
        ],
    )
    app.state.partner = PartnerState(
        desk_base_url=desk_base_url.rstrip("/"),
        client_id=client_id,
        client_secret=client_secret,
        webhook_secrets=list(webhook_secrets),
        auto_answer=auto_answer,
        api_token=api_token,
        unknown_emails=frozenset(e.strip().lower() for e in unknown_emails),
    )
    return app


WEBHOOK_PATH = "/webhooks/desk"


class WebhookFirst:
    """The partner's app, its webhook endpoint answered straight from the server: the same
    handler (signature checked, message recorded, answered as before), without Starlette's
    middleware and router around it, which were a tenth of the partner's CPU per webhook
    (bench/fanout.py), as a partner's own lean endpoint would be. Every other request, and the
    app's lifespan, go to the app."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            scope["app"] = self.app  # where the handler finds the partner's state
            response = await receive_webhook(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="desk partner-sim",
        description="Partenaire de référence : reçoit les webhooks du guichet, y répond par son "
        "API, et sert une API de droits (style Data Rights Protocol) pour l'adaptateur rest.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--desk-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument(
        "--webhook-secret",
        action="append",
        default=[],
        help="secret whsec_… (deux fois pendant un changement de secret)",
    )
    parser.add_argument("--api-token", default=None, help="jeton exigé sur l'API de droits")
    parser.add_argument("--no-auto-answer", action="store_true")
    parser.add_argument(
        "--no-access-log",
        action="store_true",
        help="sans une ligne de journal par requête (bancs d'essai : un sixième de son temps)",
    )
    args = parser.parse_args(argv)
    secrets = list(args.webhook_secret)
    if not secrets:
        secrets = [new_secret()]
        print(f"Secret de signature des webhooks (à saisir côté guichet) : {secrets[0]}")
    app = create_reference_partner(
        desk_base_url=args.desk_url,
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_secrets=secrets,
        auto_answer=not args.no_auto_answer and bool(args.client_id),
        api_token=args.api_token,
    )
    print(
        f"Partenaire de référence sur http://{args.host}:{args.port} "
        f"(webhooks : /webhooks/desk ; API de droits : /v1/data-rights-request)"
    )
    uvicorn.run(
        WebhookFirst(app),
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=not args.no_access_log,
        # No proxy in front of it: the forwarded headers' middleware had nothing to do.
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
