"""Public receipt pages: the signing keys (JWKS), the verifier, printable receipts."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError
from desk.core.i18n import DEFAULT_LOCALE, translate
from desk.core.translatable import N_
from desk.receipts.models import Receipt
from desk.receipts.qr import qr_svg
from desk.receipts.verify import (
    MAX_TOKEN_CHARS,
    REASON_EMPTY,
    REASON_TOO_LONG,
    Verification,
    refused,
    verify_receipt,
)
from desk.receipts.wording import describe
from desk.web.templating import render

log = logging.getLogger("desk.receipts")

# uuid4().hex: 32 lower-case hex digits. Anything else cannot be a receipt id.
_RECEIPT_ID = re.compile(r"^[0-9a-f]{32}$")
# A pasted receipt plus the form's CSRF token; bigger bodies are not a receipt.
MAX_FORM_BYTES = 64 * 1024
NOT_FOUND_FR = N_(
    "Ce reçu est introuvable. Vérifiez que le lien a été copié en entier ; "
    "vous pouvez aussi coller le texte du reçu sur la page « Vérifier un reçu »."
)
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


async def jwks(request: Request) -> Response:
    keyring = request.app.state.runtime.keyring
    return JSONResponse(
        keyring.jwks(),
        headers={
            "Cache-Control": "public, max-age=3600",
            # Public keys: any site or script may fetch them to check a receipt.
            "Access-Control-Allow-Origin": "*",
        },
    )


async def verifier(request: Request) -> Response:
    token: str | None = None
    if request.method == "POST":
        size = request.headers.get("content-length", "")
        if size.isdigit() and int(size) > MAX_FORM_BYTES:
            return _render_verifier(request, token="", result=refused(REASON_TOO_LONG), status=413)
        token = await _posted_token(request)
    elif "jws" in request.query_params:
        token = request.query_params.get("jws", "")
    if token is None:
        return _render_verifier(request, token="", result=None)
    result = await verify_receipt(token=token, keyring=request.app.state.runtime.keyring)
    log.info(
        "receipt verification valid=%s kid=%s receipt=%s",
        result.valid,
        result.kid,
        result.receipt_id,
    )
    return _render_verifier(request, token=token, result=result)


async def _posted_token(request: Request) -> str:
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 — a malformed body is just an empty paste
        return ""
    value = form.get("jws")
    if isinstance(value, UploadFile) or value is None:
        return ""
    return str(value)


def _render_verifier(
    request: Request, *, token: str, result: Verification | None, status: int | None = None
) -> Response:
    settings = request.app.state.settings
    context: dict[str, Any] = {
        # Refill the field so a person can fix a bad paste, unless it was far too long to be one.
        "token": "" if len(token) > MAX_TOKEN_CHARS else token,
        "result": result,
        "view": describe(result.payload) if result is not None and result.payload else None,
        "jwks_url": settings.url("/.well-known/jwks.json"),
        "verifier_url": settings.url("/verifier"),
        "empty": result is not None and result.reason_fr == REASON_EMPTY,
    }
    if status is None:
        status = 200 if result is None or result.valid else 422
    return render(request, "receipts/verifier.html", context, status_code=status)


async def _find(receipt_id: str) -> Receipt:
    row = await Receipt.filter(id=receipt_id).first() if _RECEIPT_ID.match(receipt_id) else None
    if row is None:
        raise DeskError(NOT_FOUND_FR, code="not_found")
    return row


async def receipt_page(request: Request) -> Response:
    row = await _find(request.path_params["receipt_id"])
    settings = request.app.state.settings
    result = await verify_receipt(token=row.jws, keyring=request.app.state.runtime.keyring)
    if not result.valid:
        # Only a damaged database or a lost key gets here: say so rather than show unchecked text.
        log.error("stored receipt %s does not verify", row.id)
    verify_path = "/verifier?jws=" + quote(row.jws, safe="")
    page_url = settings.url(f"/recus/{row.id}")
    # The short address, not the whole signed text: a small code a phone reads off paper,
    # and this page verifies the receipt itself (issue 17).
    qr_target = page_url
    context = {
        "receipt": row,
        "result": result,
        "view": describe(result.payload) if result.payload else None,
        "qr": qr_svg(
            qr_target,
            label=translate(
                "Code QR : ouvre ce reçu sur le guichet, qui le vérifie",
                getattr(request.state, "locale", DEFAULT_LOCALE),
            ),
        ),
        "qr_target": qr_target,
        "verify_path": verify_path,
        "page_url": page_url,
        "jwks_url": settings.url("/.well-known/jwks.json"),
    }
    return render(request, "receipts/receipt.html", context, headers=NOINDEX)


async def receipt_jws(request: Request) -> Response:
    row = await _find(request.path_params["receipt_id"])
    return Response(
        row.jws,
        media_type="application/jose",
        headers={"Content-Disposition": f'attachment; filename="recu-{row.id}.jws"', **NOINDEX},
    )


routes: list[BaseRoute] = [
    Route("/.well-known/jwks.json", jwks, methods=["GET"], name="receipts_jwks"),
    Route("/verifier", verifier, methods=["GET", "POST"], name="receipts_verifier"),
    # Before the page route: "{receipt_id}" alone would also match "<id>.jws".
    Route("/recus/{receipt_id}.jws", receipt_jws, methods=["GET"], name="receipts_jws"),
    Route("/recus/{receipt_id}", receipt_page, methods=["GET"], name="receipts_page"),
]
