"""The public receipt log: its page, signed tree heads, leaf hashes and proofs (JSON).

Nothing here publishes a receipt's content: only leaf hashes (SHA-256 of what was signed,
prefixed as RFC 9162 says), positions and signed heads. A receipt's holder can ask for its
inclusion proof; anyone for the consistency proof between two heads.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core import merkle
from desk.receipts import log
from desk.receipts.models import LogNode, Receipt, TreeHead
from desk.web.errors import ApiProblem
from desk.web.templating import render

PUBLIC_HEADERS = {"access-control-allow-origin": "*", "cache-control": "no-cache"}
PAGE_MAX = 1000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_INDEX = 2**62

HASH_INVALID_FR = (
    "Le paramètre « feuille » doit être l'empreinte d'une feuille du journal : 64 caractères "
    "hexadécimaux (0-9, a-f)."
)
LEAF_UNKNOWN_FR = (
    "Aucun reçu de ce journal n'a cette empreinte. Un reçu tout juste émis y est inscrit en "
    "quelques secondes : réessayez un peu plus tard."
)
NOT_YET_FR = (
    "Ce reçu n'est pas encore couvert par une tête signée de cette taille : il est inscrit au "
    "journal quelques secondes après son émission."
)
HEAD_UNKNOWN_FR = (
    "Le journal n'a pas de tête signée de cette taille. La liste des têtes signées est publiée "
    "sur /transparence/journal/tetes.json."
)
CHAIN_GONE_FR = (
    "L'ancienne chaîne des reçus n'est plus publiée : elle exposait le contenu de chaque reçu. "
    "Le journal des reçus publie désormais des empreintes et des têtes signées "
    "(/transparence/journal/tete.json) ; tout reçu se vérifie sur /verifier."
)


def _int(request: Request, name: str, *, default: int | None, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ApiProblem(400, f"Le paramètre « {name} » est obligatoire.")
        return default
    # ASCII digits only: str.isdigit() also takes "١" or "²".
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not low <= int(raw) <= high:
        raise ApiProblem(
            400, f"Le paramètre « {name} » doit être un nombre entier entre {low} et {high}."
        )
    return int(raw)


async def _head(size: int | None) -> TreeHead:
    head = await (log.latest_head() if size is None else log.head_of_size(size))
    if head is None:
        raise ApiProblem(404, HEAD_UNKNOWN_FR if size is not None else "Le journal est vide.")
    return head


async def log_page(request: Request) -> Response:
    head = await log.latest_head()
    waiting = await Receipt.filter(leaf_index__isnull=True).count()
    return render(request, "receipts/log.html", {"head": head, "waiting": waiting})


async def head_json(request: Request) -> Response:
    base = request.app.state.settings.base_url.rstrip("/")
    return JSONResponse(
        log.head_document(await log.latest_head(), base_url=base), headers=PUBLIC_HEADERS
    )


async def heads_json(request: Request) -> Response:
    start = _int(request, "depuis", default=1, low=1, high=MAX_INDEX)
    limit = _int(request, "limite", default=PAGE_MAX, low=1, high=PAGE_MAX)
    rows = await TreeHead.filter(size__gte=start).order_by("size").limit(limit + 1)
    heads = [
        {"size": h.size, "root_hash": h.root_hash, "time": h.created_at.isoformat(), "jws": h.jws}
        for h in rows[:limit]
    ]
    after = (
        f"/transparence/journal/tetes.json?depuis={rows[limit].size}" if len(rows) > limit else None
    )
    return JSONResponse({"heads": heads, "next": after}, headers=PUBLIC_HEADERS)


async def leaves_json(request: Request) -> Response:
    start = _int(request, "depuis", default=0, low=0, high=MAX_INDEX)
    limit = _int(request, "limite", default=PAGE_MAX, low=1, high=PAGE_MAX)
    rows = (
        await LogNode.filter(level=0, position__gte=start)
        .order_by("position")
        .limit(limit + 1)
        .values_list("position", "hash")
    )
    leaves = [{"index": int(i), "leaf_hash": str(h)} for i, h in rows[:limit]]
    after = (
        f"/transparence/journal/feuilles.json?depuis={rows[limit][0]}"
        if len(rows) > limit
        else None
    )
    return JSONResponse({"from": start, "leaves": leaves, "next": after}, headers=PUBLIC_HEADERS)


async def _inclusion_response(request: Request, receipt: Receipt | None) -> Response:
    if receipt is None:
        raise ApiProblem(404, LEAF_UNKNOWN_FR)
    size = _int(request, "taille", default=0, low=0, high=MAX_INDEX) or None
    if size is not None:
        await _head(size)
    inclusion = await log.inclusion_of(
        receipt=receipt, keyring=request.app.state.runtime.keyring, size=size
    )
    if inclusion is None:
        raise ApiProblem(404, NOT_YET_FR if receipt.leaf_index is None or size else LEAF_UNKNOWN_FR)
    return JSONResponse(log.inclusion_document(inclusion), headers=PUBLIC_HEADERS)


async def inclusion_json(request: Request) -> Response:
    leaf = request.query_params.get("feuille", "")
    if not _HEX64.match(leaf):
        raise ApiProblem(400, HASH_INVALID_FR)
    return await _inclusion_response(request, await Receipt.filter(leaf_hash=leaf).first())


async def receipt_inclusion_json(request: Request) -> Response:
    receipt_id = request.path_params["receipt_id"]
    receipt = (
        await Receipt.filter(id=receipt_id).first()
        if re.fullmatch(r"[0-9a-f]{32}", receipt_id)
        else None
    )
    return await _inclusion_response(request, receipt)


async def consistency_json(request: Request) -> Response:
    old_size = _int(request, "de", default=None, low=1, high=MAX_INDEX)
    new_size = _int(request, "a", default=None, low=1, high=MAX_INDEX)
    if old_size > new_size:
        raise ApiProblem(400, "La taille « de » doit être inférieure ou égale à la taille « a ».")
    old, new = await _head(old_size), await _head(new_size)
    path = await log.consistency_path(old_size=old_size, new_size=new_size)
    body: dict[str, Any] = {
        "log": log.LOG_NAME,
        "from": {"size": old.size, "root_hash": old.root_hash, "jws": old.jws},
        "to": {"size": new.size, "root_hash": new.root_hash, "jws": new.jws},
        "proof": [h.hex() for h in path],
        "verified_here": merkle.verify_consistency(
            old_size=old_size,
            new_size=new_size,
            proof=path,
            old_root=bytes.fromhex(old.root_hash),
            new_root=bytes.fromhex(new.root_hash),
        ),
    }
    return JSONResponse(body, headers=PUBLIC_HEADERS)


async def old_checkpoint(request: Request) -> Response:
    return RedirectResponse("/transparence/journal/tete.json", status_code=301)


async def old_chain(request: Request) -> Response:
    raise ApiProblem(410, CHAIN_GONE_FR)


routes: list[BaseRoute] = [
    Route("/transparence", log_page, name="receipts:log"),
    Route("/transparence/journal/tete.json", head_json),
    Route("/transparence/journal/tetes.json", heads_json),
    Route("/transparence/journal/feuilles.json", leaves_json),
    Route("/transparence/journal/inclusion.json", inclusion_json),
    Route("/transparence/journal/coherence.json", consistency_json),
    Route("/recus/{receipt_id}/inclusion.json", receipt_inclusion_json),
    Route("/transparence/checkpoint.json", old_checkpoint),
    Route("/transparence/chaine.json", old_chain),
]
