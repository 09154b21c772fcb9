"""Many residents at once against real processes: `desk serve`, `desk worker`, reference
partners (`desk partner-sim`) answering through the partner API, on SQLite or PostgreSQL.

The workload of issue 13: residents log in through the mailed link, then file erasure
requests concurrently, half of them "erase everywhere"; webhook partners answer by API at the
same moments, the other signatories answer through the simulated adapter. `run_load` returns
what happened; the concurrency test (tests/e2e/test_concurrent_load.py) asserts on it and
bench/concurrent_load.py prints it beside the bare app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from joserfc import jws
from joserfc.jwk import KeySet
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.desk_setup import migrate, settings_env
from bench.harness import ROOT, cpu_seconds, desk_command, desk_env, free_port, process
from desk.core import merkle
from desk.db import connected
from desk.demo.seed import seed_demo
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.receipts.keys import signing_input
from desk.receipts.models import Receipt
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.requests.states import FINAL_STATES

# Access-log lines: "<method> <route> <status> <ms>ms".
_STATUS = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD) \S+ (\d{3}) [\d.]+ms")


@dataclass
class LoadResult:
    requests_filed: int = 0
    deliveries: int = 0
    filing_statuses: dict[int, int] = field(default_factory=dict)
    filing_seconds: float = 0.0
    filing_latencies: list[float] = field(default_factory=list)
    completed_seconds: float = 0.0
    open_requests: list[str] = field(default_factory=list)
    receipts: int = 0
    # Fulfilled erasures whose receipt is missing, unlogged, or whose proof fails.
    receipt_problems: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    partner_errors: list[str] = field(default_factory=list)
    partner_retries: int = 0
    audit_exit: int | None = None
    audit_output: str = ""
    # CPU seconds of `desk serve` while the filings ran, and of `desk worker` from the first
    # filing to the last request completed (machine-independent costs, bench/README.md).
    web_cpu_filing: float = 0.0
    worker_cpu: float = 0.0

    @property
    def completed_per_second(self) -> float:
        return self.requests_filed / self.completed_seconds if self.completed_seconds else 0.0


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        desk_command(*args), cwd=ROOT, env=desk_env(env), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"desk {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def _printed(output: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s*:?\s+(\S+)\s*$", output, re.MULTILINE)
    if not match:
        raise RuntimeError(f"{name!r} not printed:\n{output}")
    return match.group(1)


async def _register(database_url: str) -> list[str]:
    """The demo register, every signatory answering by itself (simulated) to begin with."""
    async with connected(database_url):
        await seed_demo()
        await Signatory.all().update(adapter="simulated", adapter_settings={})
        slugs = await Signatory.filter(charter_status=CharterStatus.SIGNED).order_by("id")
        return [s.slug for s in slugs]


@contextlib.contextmanager
def _partners(env: dict[str, str], slugs: list[str], desk_url: str, logs: Path) -> Iterator[None]:
    """One `desk partner-sim` per slug, configured as an operator would (webhook + client)."""
    with contextlib.ExitStack() as stack:
        for slug in slugs:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            client = _run(env, "partners", "create-client", slug, "--label", "charge")
            hook = _run(
                env, "partners", "configure", slug, "--adapter", "webhook",
                "--set", f"url={url}/webhooks/desk",
            )  # fmt: skip
            stack.enter_context(
                process(
                    desk_command(
                        "partner-sim",
                        "--port",
                        str(port),
                        "--desk-url",
                        desk_url,
                        "--client-id",
                        _printed(client, "client_id"),
                        "--client-secret",
                        _printed(client, "client_secret"),
                        "--webhook-secret",
                        _printed(hook, "Nouveau secret de signature"),
                    ),
                    env=desk_env(env),
                    log=logs / f"partner-{slug}.log",
                    ready_url=url + "/",
                )  # fmt: skip
            )
        yield


async def _log_in(client: httpx.AsyncClient, sink: MailSink, email: str) -> None:
    """The real flow: form, link mailed by the worker process, confirmation."""
    await client.get("/connexion")
    csrf = client.cookies.get("csrftoken") or ""
    sent = await client.post("/connexion", data={"csrftoken": csrf, "email": email})
    sent.raise_for_status()
    deadline = time.monotonic() + 60
    link = ""
    while not link:
        links = [x for m in sink.to(email) for x in m.links if "/connexion/" in x]
        link = links[-1] if links else ""
        if time.monotonic() > deadline:
            raise RuntimeError(f"no login link for {email}")
        await asyncio.sleep(0.1)
    path = "/" + link.split("/", 3)[3]
    (await client.get(path)).raise_for_status()
    csrf = client.cookies.get("csrftoken") or csrf
    done = await client.post(path, data={"csrftoken": csrf})
    if done.status_code != 303:
        raise RuntimeError(f"login confirmation answered {done.status_code}")


async def _file_all(
    clients: list[httpx.AsyncClient], slugs: list[str], requests: int, concurrency: int,
    result: LoadResult,
) -> None:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        client = clients[n % len(clients)]
        targets = slugs if n % 2 == 0 else [slugs[n % len(slugs)]]
        async with gate:
            started = time.perf_counter()
            answer = await client.post(
                "/mon-espace/demandes",
                data={
                    "csrftoken": client.cookies.get("csrftoken") or "",
                    "submission_key": secrets.token_urlsafe(16),
                    "kind": "erasure",
                    "signatory": targets,
                },
            )
            result.filing_latencies.append(time.perf_counter() - started)
        result.filing_statuses[answer.status_code] = (
            result.filing_statuses.get(answer.status_code, 0) + 1
        )

    await asyncio.gather(*(one(n) for n in range(requests)))


async def _wait_final(database_url: str, within: float) -> list[str]:
    """References of the requests still open when everything settled or time ran out."""
    deadline = time.monotonic() + within
    async with connected(database_url):
        while True:
            open_ids = set(
                await Delivery.exclude(state__in=list(FINAL_STATES)).values_list(
                    "request_id", flat=True
                )
            )
            unlogged = await Receipt.filter(leaf_index__isnull=True).count()
            if (not open_ids and not unlogged) or time.monotonic() > deadline:
                refs = await RightsRequest.filter(id__in=list(open_ids)).values_list(
                    "reference", flat=True
                )
                return [str(r) for r in refs]
            await asyncio.sleep(0.5)


async def _check_receipts(client: httpx.AsyncClient, database_url: str, result: LoadResult) -> None:
    """Every fulfilled erasure has a receipt whose inclusion proof verifies under a signed
    head, checked as an outsider would: over HTTP, with only the published keys."""
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    async with connected(database_url):
        fulfilled = await Delivery.filter(
            state=DeliveryState.FULFILLED, request__kind=RequestKind.ERASURE
        ).values_list("id", flat=True)
        receipts = {r.delivery_id: r for r in await Receipt.all()}  # type: ignore[attr-defined]
    result.receipts = len(receipts)
    for delivery_id in fulfilled:
        receipt = receipts.get(delivery_id)
        if receipt is None:
            result.receipt_problems.append(f"delivery {delivery_id}: no receipt")
            continue
        answer = await client.get(f"/recus/{receipt.id}/inclusion.json")
        if answer.status_code != 200:
            result.receipt_problems.append(f"receipt {receipt.id}: {answer.status_code}")
            continue
        proof = answer.json()
        head = json.loads(jws.deserialize_compact(proof["tree_head"], keys).payload)
        ok = head["size"] == proof["tree_size"] and merkle.verify_inclusion(
            leaf=merkle.leaf_hash(signing_input(receipt.jws)),
            index=proof["leaf_index"],
            size=head["size"],
            proof=[bytes.fromhex(h) for h in proof["audit_path"]],
            root=bytes.fromhex(head["root_hash"]),
        )
        if not ok:
            result.receipt_problems.append(f"receipt {receipt.id}: proof does not verify")


def _scan_logs(logs: Path, result: LoadResult) -> None:
    for path in sorted(logs.glob("*.log")):
        text = path.read_text(errors="replace")
        for line in text.splitlines():
            status = _STATUS.search(line)
            if (status and status.group(1).startswith("5")) or "database is locked" in line:
                result.server_errors.append(f"{path.name}: {line[:300]}")
            elif "Traceback" in line:
                result.server_errors.append(f"{path.name}: {line[:300]}")
        if path.name.startswith("partner-"):
            result.partner_errors += [
                f"{path.name}: {line[:300]}" for line in text.splitlines() if "ERROR" in line
            ]


async def run_load(
    *,
    work: Path,
    database_url: str,
    requests: int,
    residents: int = 10,
    concurrency: int = 10,
    webhook_partners: int = 2,
    settle_timeout: float = 240.0,
    worker_concurrency: int = 8,
) -> LoadResult:
    """The whole workload; `database_url` must name an empty database."""
    # Tortoise caches each model's SQL without the dialect in the key: a run on PostgreSQL
    # after one on SQLite, in one process, would reuse SQLite's placeholders.
    EXECUTOR_CACHE.clear()
    result = LoadResult()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sink = MailSink(limit=1_000_000)
    smtp = SmtpSinkServer(sink, port=0)
    smtp.start()
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = settings_env(
            database_url=database_url,
            data_dir=work / "data",
            smtp_port=smtp.port,
            base_url=base,
            DESK_SIMULATED_DELAY="0.5",
            DESK_WORKER_CONCURRENCY=str(worker_concurrency),
            DESK_PARTNER_ALLOWED_NETWORKS="127.0.0.1/32",
            # Every resident logs in from this one address: its limit is not what is measured.
            DESK_RATE_LIMIT_LOGIN_PER_IP="10000 per minute",
            DESK_LOG_FORMAT="text",
        )
        migrate(env)
        slugs = await _register(database_url)
        serve = process(
            desk_command("serve", "--port", str(port)),
            env=desk_env(env), log=logs / "serve.log", ready_url=base + "/",
        )  # fmt: skip
        worker = process(desk_command("worker"), env=desk_env(env), log=logs / "worker.log")
        with (
            serve as web,
            worker as work_proc,
            _partners(env, slugs[:webhook_partners], base, logs),
        ):
            limits = httpx.Limits(max_connections=concurrency)
            clients = [
                httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
                for _ in range(residents)
            ]
            try:
                await asyncio.gather(
                    *(
                        _log_in(c, sink, f"charge-{n}@exemple.invalid")
                        for n, c in enumerate(clients)
                    )
                )
                started = time.perf_counter()
                web_cpu, worker_cpu = cpu_seconds(web.pid), cpu_seconds(work_proc.pid)
                await _file_all(clients, slugs, requests, concurrency, result)
                result.filing_seconds = time.perf_counter() - started
                result.web_cpu_filing = cpu_seconds(web.pid) - web_cpu
                result.requests_filed = result.filing_statuses.get(303, 0)
                result.open_requests = await _wait_final(database_url, settle_timeout)
                result.completed_seconds = time.perf_counter() - started
                result.worker_cpu = cpu_seconds(work_proc.pid) - worker_cpu
                await _check_receipts(clients[0], database_url, result)
            finally:
                for client in clients:
                    await client.aclose()
        async with connected(database_url):
            result.deliveries = await Delivery.all().count()
        audit = await asyncio.to_thread(
            subprocess.run,
            desk_command("audit", "verify"), cwd=ROOT, env=desk_env(env), capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
        result.audit_exit, result.audit_output = audit.returncode, audit.stdout + audit.stderr
        _scan_logs(logs, result)
        result.partner_retries = sum(
            p.read_text(errors="replace").count("retrying") for p in logs.glob("partner-*")
        )
    finally:
        smtp.stop()
    return result
