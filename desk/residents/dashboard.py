"""The dashboard (`/mon-espace`) and the list of all of a resident's requests, paged.

The dashboard's cost does not grow with the resident's history: it reads the same queries
whether the resident filed 2 requests or 200 (tests/desk/residents/test_dashboard_cost.py):

- what each signatory last said (desk.residents.standing) from at most three deliveries per
  signatory — its latest discovery, its latest open erasure, its latest answer about holdings
  — picked by the database (`ROW_NUMBER()` per signatory), not from every delivery ever;
- the latest discovery request (its progress bar), the `RECENT` most recent requests, and how
  many requests there are, open and closed; the rest is a click away (`/mon-espace/demandes`,
  `PAGE_SIZE` a page).

Before, the page read every request with every delivery (a resident with 21 requests: 15
pages/s, p50 642 ms on a 2-core machine, issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.query_utils import Prefetch

from desk.holdings.api import Transparency, resident_transparency
from desk.mediation.filings import (
    AskingMediator,
    FiledBy,
    LiveMandate,
    TakenBy,
    asking,
    copies_taken_by_request,
    filed_by,
    live_mandates,
)
from desk.registry.models import CharterStatus, Declaration, Signatory
from desk.requests import queries
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.residents.standing import MAY_HOLD, Standing, Status, standings
from desk.residents.views import Progress, answer_lines, progress_of

# Requests shown on the dashboard; the others on /mon-espace/demandes.
RECENT = 5
# Requests a page of /mon-espace/demandes.
PAGE_SIZE = 20
# Beyond any resident's history: a larger page number is refused, not looked up.
MAX_PAGE = 10_000

_NOT_FINAL = [s.value for s in DeliveryState if s not in FINAL_STATES]


@dataclass
class SignatoryRow:
    """One signatory on the dashboard, with what it last said about the resident."""

    signatory: queries.SignatoryRef
    # A standing.Status value: holds | erased | partly_erased | nothing | erasing | waiting |
    # refused | failed | not_asked
    status: str
    lines: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    state: str = ""
    # When it said so (erased, nothing held), and the receipt proving it.
    since: datetime | None = None
    receipt_id: str | None = None

    @property
    def may_hold(self) -> bool:
        return self.status in MAY_HOLD


@dataclass
class DiscoveryProgress:
    request: RightsRequest
    answered: int
    total: int
    holders: int

    @property
    def pending(self) -> bool:
        return self.answered < self.total


@dataclass
class Dashboard:
    rows: list[SignatoryRow]
    # The most recent requests (RECENT at most), newest first.
    requests: list[RightsRequest]
    receipts: dict[int, queries.ReceiptInfo]
    discovery: DiscoveryProgress | None
    # Something is moving (a partner may answer any minute): the page offers to refresh itself.
    waiting: bool
    # What signatories declared by keyed hash (holdings, lineage); None when not looked up.
    transparency: Transparency | None = None
    # request id → the mediator who filed it with the resident (requests filed in person).
    filed_by: dict[int, FiledBy] = field(default_factory=dict)
    # signatory id → name, for the deliveries listed (their signatories are not loaded).
    signatory_names: dict[int, str] = field(default_factory=dict)
    # request id → copies of its answers a mediator downloaded for the resident.
    copies_taken: dict[int, list[TakenBy]] = field(default_factory=dict)
    # Mediators waiting, today, for the resident's consent to join their account.
    asking: list[AskingMediator] = field(default_factory=list)
    # Mandates in effect, each revocable from here (the printed mandate promises it).
    mandates: list[LiveMandate] = field(default_factory=list)
    # request id → its progress, for the one-line summary of each request.
    progress: dict[int, Progress] = field(default_factory=dict)
    # All of the resident's requests, and those still awaiting an answer.
    total_requests: int = 0
    open_count: int = 0

    @property
    def holders(self) -> list[queries.SignatoryRef]:
        return [r.signatory for r in self.rows if r.status == Status.HOLDS]

    @property
    def erasable(self) -> int:
        """How many signatories "erase everywhere" would ask (they hold or may hold data)."""
        return sum(1 for r in self.rows if r.may_hold)

    def group(self, *statuses: str) -> list[SignatoryRow]:
        return [r for r in self.rows if r.status in statuses]

    @property
    def open_requests(self) -> list[RightsRequest]:
        return [r for r in self.requests if self.progress[r.id].pending]

    @property
    def closed_requests(self) -> list[RightsRequest]:
        return [r for r in self.requests if not self.progress[r.id].pending]

    @property
    def closed_count(self) -> int:
        return self.total_requests - self.open_count

    @property
    def more(self) -> bool:
        """Requests not shown here: the page links to the full list."""
        return self.total_requests > len(self.requests)


def _row(
    signatory: queries.SignatoryRef,
    standing: Standing,
    titles: dict[str, str],
    receipts: dict[int, queries.ReceiptInfo],
) -> SignatoryRow:
    row = SignatoryRow(signatory=signatory, status=standing.status.value)
    delivery = standing.delivery
    if delivery is None:
        return row
    row.state = delivery.state.value
    row.due_at = delivery.due_at
    row.since = delivery.completed_at
    receipt = receipts.get(delivery.id)
    row.receipt_id = receipt.id if receipt else None
    if RequestKind(delivery.request.kind) == RequestKind.DISCOVERY:
        # What it holds, in its own declarations' words (or why it refused).
        if standing.status in (Status.HOLDS, Status.REFUSED):
            row.lines = answer_lines(RequestKind.DISCOVERY, delivery, titles, signatory.name)
    return row


# --- reading (a fixed number of queries) -------------------------------------------------------


async def _signatories() -> tuple[list[queries.SignatoryRef], dict[int, str]]:
    """Signed signatories by name, and every signatory's name (as tuples: no models)."""
    signed: list[queries.SignatoryRef] = []
    names: dict[int, str] = {}
    for sid, slug, name, status in (
        await Signatory.all().order_by("name").values_list("id", "slug", "name", "charter_status")
    ):
        names[sid] = name
        if status == CharterStatus.SIGNED:
            signed.append(queries.SignatoryRef(id=sid, slug=slug, name=name))
    return signed, names


async def _declaration_titles() -> dict[int, dict[str, str]]:
    titles: dict[int, dict[str, str]] = {}
    for sid, code, title in (
        await Declaration.filter(signatory__charter_status=CharterStatus.SIGNED)
        .order_by("id")
        .values_list("signatory_id", "code", "title")
    ):
        titles.setdefault(sid, {})[code] = title
    return titles


def _standing_sql(resident_id: int) -> str:
    # Only an integer and the desk's own constants go into the text: nothing from a request.
    rid = int(resident_id)
    open_states = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES))
    holdings_kinds = ", ".join(
        f"'{k.value}'" for k in (RequestKind.DISCOVERY, RequestKind.ACCESS, RequestKind.ERASURE)
    )
    base = "FROM delivery d JOIN rights_request r ON r.id = d.request_id WHERE r.resident_id = "
    latest = "ROW_NUMBER() OVER (PARTITION BY d.signatory_id ORDER BY d.id DESC)"
    return (
        # Each signatory's latest discovery (waiting, refused, failed: the news when newest)…
        f"SELECT id FROM (SELECT d.id AS id, {latest} AS n {base}{rid} "
        f"AND r.kind = '{RequestKind.DISCOVERY.value}') a WHERE n = 1 "
        # …its latest erasure still awaited…
        f"UNION SELECT id FROM (SELECT d.id AS id, {latest} AS n {base}{rid} "
        f"AND r.kind = '{RequestKind.ERASURE.value}' AND d.state IN ({open_states})) b "
        "WHERE n = 1 "
        # …and its latest answer about holdings, in the order standing.py reads them.
        "UNION SELECT id FROM (SELECT d.id AS id, ROW_NUMBER() OVER (PARTITION BY "
        "d.signatory_id ORDER BY COALESCE(d.completed_at, d.received_at) DESC, d.id DESC) "
        f"AS n {base}{rid} AND r.kind IN ({holdings_kinds}) "
        f"AND d.state = '{DeliveryState.FULFILLED.value}') c WHERE n = 1"
    )


async def _standing_deliveries(resident_id: int, in_hand: dict[int, Delivery]) -> list[Delivery]:
    """The deliveries `standing` needs, at most three per signatory, each with its request;
    those already read (`in_hand`: the recent requests', the latest discovery's) are not read
    again, so the page builds each delivery once.

    `standing` keeps, per signatory, the newest of each of three sorts of delivery: given just
    those, it says what it says given all of them."""
    rows = await Delivery._meta.db.execute_query_dict(_standing_sql(resident_id))
    ids = [int(row["id"]) for row in rows]
    missing = [i for i in ids if i not in in_hand]
    loaded = (
        list(await Delivery.filter(id__in=missing).prefetch_related("request")) if missing else []
    )
    return [in_hand[i] for i in ids if i in in_hand] + loaded


async def _open_requests(resident_id: int) -> tuple[set[int], bool]:
    """Ids of the resident's requests still awaiting an answer, and whether any delivery is
    moving (a partner may answer any minute: the page offers to refresh itself)."""
    pairs = (
        await Delivery.filter(request__resident_id=resident_id, state__in=_NOT_FINAL)
        .order_by("request_id", "state")
        .distinct()
        .values_list("request_id", "state")
    )
    waiting = any(DeliveryState(state) in OPEN_STATES for _rid, state in pairs)
    return {int(rid) for rid, _state in pairs}, waiting


async def _recent_requests(resident_id: int, *, offset: int, limit: int) -> list[RightsRequest]:
    requests = list(
        await RightsRequest.filter(resident_id=resident_id)
        .order_by("-created_at", "-id")
        .offset(offset)
        .limit(limit)
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.all()))
    )
    for r in requests:
        for d in r.deliveries:
            d.request = r  # progress and standing read each delivery's kind
    return requests


async def _latest_discovery(resident_id: int) -> RightsRequest | None:
    discovery = (
        await RightsRequest.filter(resident_id=resident_id, kind=RequestKind.DISCOVERY)
        .order_by("-created_at", "-id")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.all()))
        .first()
    )
    if discovery is not None:
        for d in discovery.deliveries:
            d.request = discovery
    return discovery


def _discovery_progress(discovery: RightsRequest | None) -> DiscoveryProgress | None:
    if discovery is None:
        return None
    deliveries = [d for d in discovery.deliveries if d.state != DeliveryState.WITHDRAWN]
    return DiscoveryProgress(
        request=discovery,
        answered=sum(1 for d in deliveries if d.state in FINAL_STATES),
        total=len(deliveries),
        holders=sum(
            1
            for d in deliveries
            if d.state == DeliveryState.FULFILLED and (d.outcome or {}).get("holds_data") is True
        ),
    )


async def build_dashboard(*, resident_id: int, secret_key: str | None = None) -> Dashboard:
    """The dashboard's model; with `secret_key` (to decrypt hashing keys), what signatories
    declared holding about the resident and their lineage events."""
    signed, names = await _signatories()
    titles = await _declaration_titles()
    requests = await _recent_requests(resident_id, offset=0, limit=RECENT)
    total = await RightsRequest.filter(resident_id=resident_id).count()
    open_ids, waiting = await _open_requests(resident_id)
    discovery = await _latest_discovery(resident_id)
    listed = [d for r in requests for d in r.deliveries]
    in_hand = {d.id: d for d in listed}
    if discovery is not None:
        in_hand.update((d.id, d) for d in discovery.deliveries)
    latest = await _standing_deliveries(resident_id, in_hand)
    receipts = await queries.receipts_for(delivery_ids=sorted({d.id for d in [*latest, *listed]}))
    known = standings(latest)
    rows = [
        _row(s, known.get(s.id, Standing(Status.NOT_ASKED)), titles.get(s.id, {}), receipts)
        for s in signed
    ]
    transparency = (
        await resident_transparency(resident_id=resident_id, secret_key=secret_key)
        if secret_key
        else None
    )
    request_ids = [r.id for r in requests]
    return Dashboard(
        rows=rows,
        requests=requests,
        receipts=receipts,
        discovery=_discovery_progress(discovery),
        waiting=waiting,
        transparency=transparency,
        filed_by=await filed_by(request_ids=request_ids),
        signatory_names=names,
        copies_taken=await copies_taken_by_request(request_ids=request_ids),
        asking=await asking(resident_id=resident_id),
        mandates=await live_mandates(resident_id=resident_id),
        progress={r.id: progress_of(list(r.deliveries)) for r in requests},
        total_requests=total,
        open_count=len(open_ids),
    )


# --- every request, a page at a time ----------------------------------------------------------


@dataclass
class RequestsPage:
    requests: list[RightsRequest]
    progress: dict[int, Progress]
    filed_by: dict[int, FiledBy]
    copies_taken: dict[int, list[TakenBy]]
    page: int
    pages: int
    total: int


async def requests_page(*, resident_id: int, page: int) -> RequestsPage | None:
    """One page of the resident's requests, newest first; None past the last page (the first
    page always exists, empty for a resident with no request)."""
    total = await RightsRequest.filter(resident_id=resident_id).count()
    pages = max(1, -(-total // PAGE_SIZE))
    if page < 1 or page > pages:
        return None
    requests = await _recent_requests(resident_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return RequestsPage(
        requests=requests,
        progress={r.id: progress_of(list(r.deliveries)) for r in requests},
        filed_by=await filed_by(request_ids=[r.id for r in requests]),
        copies_taken=await copies_taken_by_request(request_ids=[r.id for r in requests]),
        page=page,
        pages=pages,
        total=total,
    )
