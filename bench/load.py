"""Many residents at once against real processes: `desk serve`, `desk worker`, reference
partners (`desk partner-sim`) answering through the partner API, on SQLite or PostgreSQL.

Residents log in through the mailed link, then file erasure requests concurrently. What each
filing names depends on the mode (issue 18's definitions):

- "mixed" (issue 13's workload): half of them "erase everywhere", the others one signatory;
  webhook partners answer by API at the same moments, the others through the simulated adapter;
- "intake": one signatory each, every signatory in turn (simulated unless webhook partners);
- "everywhere": "erase everywhere", to every signatory (`signatories` of them in all);
- "e2e": one signatory each, a reference partner (webhook) answering through the partner API.

`run_load` returns what happened; the concurrency test (tests/e2e/test_concurrent_load.py)
asserts on it and bench/concurrent_load.py prints it beside the bare app.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

import httpx
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.desk_setup import add_signatories, migrate, settings_env
from bench.harness import (
    ROOT,
    analyze,
    client_gc_held,
    cpu_seconds,
    desk_command,
    desk_env,
    free_port,
    postgres_server_cpu,
    process,
    spying,
)
from bench.load_checks import check_receipts, half_written, log_in, scan_logs, wait_final
from desk.db import connected
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery
from desk.settings import Settings

MODES = ("mixed", "intake", "everywhere", "e2e")


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
    # Answered filings whose deliveries, first events or dispatch jobs are not all there.
    filing_problems: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    partner_errors: list[str] = field(default_factory=list)
    partner_retries: int = 0
    audit_exit: int | None = None
    audit_output: str = ""
    # CPU seconds of `desk serve` while the filings ran, and of `desk serve`, `desk worker`
    # and the partner simulators from the first filing to the last request completed
    # (machine-independent costs, bench/README.md).
    web_cpu_filing: float = 0.0
    # PostgreSQL's processes while the filings ran (all of them: the worker's too if running).
    database_cpu_filing: float = 0.0
    web_cpu: float = 0.0
    worker_cpu: float = 0.0
    partner_cpu: float = 0.0
    signatories_per_filing: float = 0.0
    worker_during_filing: bool = True
    # The worker's nice level (DESK_WORKER_NICE; the desk's default, 10, unless given).
    worker_nice: int = Settings.worker_nice
    worker_concurrency: int = Settings.worker_concurrency
    worker_intake_yield: float = Settings.worker_intake_yield
    history: int = 0

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


async def _register(database_url: str, signatories: int | None) -> list[str]:
    """The demo register (made-up signatories up to `signatories`), every signatory answering
    by itself (simulated) to begin with."""
    async with connected(database_url):
        await add_signatories(signatories or 0, adapter="simulated")
        await Signatory.all().update(adapter="simulated", adapter_settings={})
        slugs = await Signatory.filter(charter_status=CharterStatus.SIGNED).order_by("id")
        return [s.slug for s in slugs]


@contextlib.contextmanager
def _partners(
    env: dict[str, str], slugs: list[str], desk_url: str, logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One `desk partner-sim` per slug, configured as an operator would (webhook + client)."""
    with contextlib.ExitStack() as stack:
        procs = []
        for slug in slugs:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            client = _run(env, "partners", "create-client", slug, "--label", "charge")
            hook = _run(
                env, "partners", "configure", slug, "--adapter", "webhook",
                "--set", f"url={url}/webhooks/desk",
            )  # fmt: skip
            command = desk_command(
                "partner-sim", "--port", str(port), "--desk-url", desk_url,
                "--client-id", _printed(client, "client_id"),
                "--client-secret", _printed(client, "client_secret"),
                "--webhook-secret", _printed(hook, "Nouveau secret de signature"),
            )  # fmt: skip
            procs.append(
                stack.enter_context(
                    process(
                        command,
                        env=desk_env(env),
                        log=logs / f"partner-{slug}.log",
                        ready_url=url + "/",
                    )
                )
            )
        yield procs


def targets_of(mode: str, n: int, slugs: list[str], webhook_slugs: list[str]) -> list[str]:
    """The signatories the n-th filing names."""
    if mode == "everywhere" or (mode == "mixed" and n % 2 == 0):
        return slugs
    if mode == "e2e":
        return [webhook_slugs[n % len(webhook_slugs)]]
    return [slugs[n % len(slugs)]]


async def _history(
    clients: list[httpx.AsyncClient], targets: list[list[str]], concurrency: int,
    database_url: str, settle_timeout: float, result: LoadResult,
) -> int:  # fmt: skip
    """File `targets` and wait until every request is final, then (PostgreSQL) take the
    statistics; the deliveries asked for. Only the statuses are kept in `result`: a filing
    refused here counts as one refused in the measure."""
    before = LoadResult()
    asked = await _file_all(clients, targets, concurrency, before)
    for status, count in before.filing_statuses.items():
        if status != 303:
            result.filing_statuses[status] = result.filing_statuses.get(status, 0) + count
    # Any still open is counted by the measure's own wait, at the end.
    await wait_final(database_url, settle_timeout)
    await analyze(database_url)
    return asked


async def _file_all(
    clients: list[httpx.AsyncClient], targets: list[list[str]], concurrency: int,
    result: LoadResult,
) -> int:  # fmt: skip
    """File every request; returns the deliveries the answered filings asked for."""
    gate = asyncio.Semaphore(concurrency)
    asked = 0

    async def one(n: int) -> None:
        nonlocal asked
        client = clients[n % len(clients)]
        async with gate:
            started = time.perf_counter()
            answer = await client.post(
                "/mon-espace/demandes",
                data={
                    "csrftoken": client.cookies.get("csrftoken") or "",
                    "submission_key": secrets.token_urlsafe(16),
                    "kind": "erasure",
                    "signatory": targets[n],
                },
            )
            result.filing_latencies.append(time.perf_counter() - started)
        result.filing_statuses[answer.status_code] = (
            result.filing_statuses.get(answer.status_code, 0) + 1
        )
        if answer.status_code == 303:
            asked += len(targets[n])

    with client_gc_held():
        await asyncio.gather(*(one(n) for n in range(len(targets))))
    return asked


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    return sum(cpu_seconds(p.pid) for p in procs)


def _worker(
    env: dict[str, str], logs: Path, nice: int
) -> contextlib.AbstractContextManager[Popen[bytes]]:
    own = desk_env({**env, "DESK_WORKER_NICE": str(nice)})
    return process(desk_command("worker"), env=own, log=logs / "worker.log")


def _stop(proc: Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def _starts(log: Path) -> int:
    return log.read_text(errors="replace").count(" started\n")


async def _started(proc: Popen[bytes], log: Path, before: int) -> float:
    """The worker's CPU seconds once it has logged that it started (after `before` starts)."""
    deadline = time.monotonic() + 60
    while _starts(log) == before:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the worker did not start")
        await asyncio.sleep(0.05)
    return cpu_seconds(proc.pid)


async def run_load(
    *,
    work: Path,
    database_url: str,
    requests: int,
    residents: int = 10,
    concurrency: int = 10,
    webhook_partners: int = 2,
    settle_timeout: float = 240.0,
    worker_concurrency: int = Settings.worker_concurrency,
    mode: str = "mixed",
    signatories: int | None = None,
    profile: str | None = None,
    worker_during_filing: bool = True,
    worker_nice: int = Settings.worker_nice,
    worker_intake_yield: float = Settings.worker_intake_yield,
    history: int = 0,
) -> LoadResult:
    """The whole workload; `database_url` must name an empty database.

    `profile`: py-spy's collapsed stacks written to `<profile>.serve.txt` (during the
    filings), `<profile>.serve-all.txt`, `<profile>.worker.txt` and `<profile>.partner.txt`
    (first filing to last request completed).
    `worker_during_filing=False`: the worker stops once the residents are logged in and
    starts again after the last filing, so the filings have the machine to themselves (and
    the end-to-end time includes the worker's backlog).
    `worker_nice`: the worker lowers itself to that nice level (DESK_WORKER_NICE; the web
    process keeps the CPU first); 0 keeps the bench's own priority.
    `worker_intake_yield`: DESK_WORKER_INTAKE_YIELD, the most seconds the worker waits between
    two claims while residents are filing (desk.outbox.intake); 0: it never holds back.
    `history`: that many filings of the same kind are filed and completed before the measure,
    and PostgreSQL's statistics taken (`ANALYZE`, as its autovacuum does within a minute), so
    the measure meets a desk in operation rather than a database a few seconds old: on an empty
    database, PostgreSQL keeps for each connection the plans it made while the tables held a
    few rows (sequential scans) until its statistics change.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
    # Tortoise caches each model's SQL without the dialect in the key: a run on PostgreSQL
    # after one on SQLite, in one process, would reuse SQLite's placeholders.
    EXECUTOR_CACHE.clear()
    result = LoadResult(
        worker_during_filing=worker_during_filing,
        worker_nice=worker_nice,
        worker_concurrency=worker_concurrency,
        worker_intake_yield=worker_intake_yield,
        history=history,
    )
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
            DESK_WORKER_INTAKE_YIELD=str(worker_intake_yield),
            DESK_PARTNER_ALLOWED_NETWORKS="127.0.0.1/32",
            # Every resident logs in from this one address: its limit is not what is measured.
            DESK_RATE_LIMIT_LOGIN_PER_IP="10000 per minute",
            DESK_LOG_FORMAT="text",
        )
        migrate(env)
        slugs = await _register(database_url, signatories)
        webhook_slugs = slugs[:webhook_partners]
        if mode == "e2e" and not webhook_slugs:
            raise ValueError("mode e2e needs at least one webhook partner")
        targets = [targets_of(mode, n, slugs, webhook_slugs) for n in range(requests)]
        result.signatories_per_filing = sum(map(len, targets)) / max(1, requests)
        serve = process(
            desk_command("serve", "--port", str(port)),
            env=desk_env(env), log=logs / "serve.log", ready_url=base + "/",
        )  # fmt: skip
        with (
            serve as web,
            _partners(env, webhook_slugs, base, logs) as partners,
            contextlib.ExitStack() as stack,
        ):
            work_proc = stack.enter_context(_worker(env, logs, worker_nice))
            limits = httpx.Limits(max_connections=concurrency)
            clients = [
                httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
                for _ in range(residents)
            ]
            try:
                await asyncio.gather(
                    *(log_in(c, sink, f"charge-{n}@exemple.invalid") for n, c in enumerate(clients))
                )
                asked = 0
                if history:
                    earlier = [targets_of(mode, n, slugs, webhook_slugs) for n in range(history)]
                    asked = await _history(
                        clients, earlier, concurrency, database_url, settle_timeout, result
                    )
                if not worker_during_filing:
                    _stop(work_proc)
                with contextlib.ExitStack() as spies:
                    if profile:
                        spies.enter_context(spying(web.pid, f"{profile}.serve-all.txt"))
                        for p in partners[:1]:
                            spies.enter_context(spying(p.pid, f"{profile}.partner.txt"))
                    started = time.perf_counter()
                    web_cpu = cpu_seconds(web.pid)
                    database_cpu = postgres_server_cpu()
                    worker_cpu = cpu_seconds(work_proc.pid) if worker_during_filing else 0.0
                    partner_cpu = _cpu(partners)
                    if worker_during_filing and profile:
                        spies.enter_context(spying(work_proc.pid, f"{profile}.worker.txt"))
                    with spying(web.pid, f"{profile}.serve.txt" if profile else None):
                        asked += await _file_all(clients, targets, concurrency, result)
                    result.filing_seconds = time.perf_counter() - started
                    result.web_cpu_filing = cpu_seconds(web.pid) - web_cpu
                    result.database_cpu_filing = postgres_server_cpu() - database_cpu
                    result.requests_filed = result.filing_statuses.get(303, 0)
                    if not worker_during_filing:
                        # The worker's own start (imports, first maintenance pass) is not
                        # counted: its CPU from the moment it says it started.
                        starts = _starts(logs / "worker.log")
                        work_proc = stack.enter_context(_worker(env, logs, worker_nice))
                        worker_cpu = await _started(work_proc, logs / "worker.log", starts)
                        if profile:
                            spies.enter_context(spying(work_proc.pid, f"{profile}.worker.txt"))
                    result.open_requests = await wait_final(database_url, settle_timeout)
                    result.completed_seconds = time.perf_counter() - started
                    result.web_cpu = cpu_seconds(web.pid) - web_cpu
                    result.worker_cpu = cpu_seconds(work_proc.pid) - worker_cpu
                    result.partner_cpu = _cpu(partners) - partner_cpu
                await check_receipts(clients[0], database_url, result)
                result.filing_problems = await half_written(database_url, asked)
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
        scan_logs(logs, result)
        result.partner_retries = sum(
            p.read_text(errors="replace").count("retrying") for p in logs.glob("partner-*")
        )
    finally:
        smtp.stop()
    return result
