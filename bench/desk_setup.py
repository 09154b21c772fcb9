"""Data and logins for the benchmarks, made through the desk's own code and HTTP flow.

The resident logs in exactly as a person does (login form, mailed link, confirmation page):
whatever the session store or the login link's binding becomes, the benchmark follows it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import httpx

from bench.harness import ROOT, desk_command, desk_env, free_port, process, sqlite_url
from desk.db import connected
from desk.demo.seed import seed_demo
from desk.jobs import build_worker
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.registry.models import CharterStatus, Declaration, Signatory, SignatoryKind
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents.models import Resident
from desk.runtime import Runtime
from desk.settings import Settings

RESIDENT_EMAIL = "banc.essai@exemple.invalid"


# DESK_PARTNER_ALLOWED_NETWORKS of the benchmarks: their partner listens on 127.0.0.1.
LOCAL_PARTNER_NETWORKS = "127.0.0.1/32"


def settings_env(
    *, database_url: str, data_dir: Path, smtp_port: int, base_url: str, **extra: str
) -> dict[str, str]:
    env = {
        "DESK_DATABASE_URL": database_url,
        "DESK_DATA_DIR": str(data_dir),
        "DESK_SECRET_KEY": "bench-secret-" + "x" * 40,
        "DESK_SMTP_HOST": "127.0.0.1",
        "DESK_SMTP_PORT": str(smtp_port),
        "DESK_BASE_URL": base_url,
        "DESK_WORKER_POLL_INTERVAL": "0.2",
        # The benchmarks' partner (`desk partner-sim`) runs on this machine.
        "DESK_PARTNER_ALLOWED_NETWORKS": LOCAL_PARTNER_NETWORKS,
    }
    env.update(extra)
    return env


def settings_from(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        desk_command("migrate"), cwd=ROOT, env=desk_env(env), check=True, capture_output=True
    )


async def add_signatories(
    total: int, *, adapter: str = "email", settings: dict[str, Any] | None = None
) -> None:
    """The demo register, then made-up signatories until there are `total`."""
    await seed_demo()
    count = await Signatory.all().count()
    for n in range(count + 1, total + 1):
        signatory = await Signatory.create(
            slug=f"banc-{n:03d}",
            name=f"Organisme d'essai {n:03d}",
            kind=SignatoryKind.COMPANY,
            charter_status=CharterStatus.SIGNED,
            signed_on=date(2024, 1, 1),
            dpo_email=f"dpo@banc-{n:03d}.exemple.invalid",
            accepted_identifiers=["email"],
            adapter=adapter,
            adapter_settings=settings or {},
        )
        await Declaration.create(
            signatory=signatory,
            code="clients",
            title="Fichier clients",
            purposes="Gérer les contrats et la facturation.",
            legal_basis="contract",
            data_categories=["identité", "coordonnées", "factures"],
            retention="Durée du contrat, puis 5 ans.",
            recipients=["Trésor public"],
        )


async def resident_with_history(settings: Settings, email: str = RESIDENT_EMAIL) -> int:
    """A resident with what a real dashboard shows: a discovery answered by every signatory
    (half of them holding data), then an access and an erasure request in progress."""
    resident = await Resident.get_or_none(email=email)
    if resident is None:
        resident = await Resident.create(email=email, pseudonym=secrets.token_hex(16))
    runtime = Runtime.build(settings)
    discovery = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    deliveries = await Delivery.filter(request_id=discovery.id).order_by("id")
    for n, delivery in enumerate(deliveries):
        await transitions.send(delivery_id=delivery.id, actor="bench", dispatch_ref="b")
        outcome = (
            {"holds_data": True, "declarations": [], "categories": ["identité"]}
            if n % 2 == 0
            else {"holds_data": False}
        )
        await transitions.fulfil(
            delivery_id=delivery.id,
            actor="bench",
            outcome=outcome,
            keyring=runtime.keyring,
            issuer=runtime.issuer,
        )
    holders = [d.signatory_id for n, d in enumerate(deliveries) if n % 2 == 0]  # type: ignore[attr-defined]
    await file_request(resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=holders[:3])
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE, signatory_ids=holders[:2])
    return resident.id


async def prepare(
    env: dict[str, str], *, signatories: int, adapter: str = "email", requests: int = 3
) -> int:
    """Migrate, seed and give the bench resident a history of `requests` requests (at least
    the three of `resident_with_history`, then copy requests); returns the resident's id."""
    migrate(env)
    settings = settings_from(env)
    async with connected(settings.database_url):
        await add_signatories(signatories, adapter=adapter)
        resident_id = await resident_with_history(settings)
        holders = await Signatory.all().order_by("id").limit(3).values_list("id", flat=True)
        for _ in range(max(0, requests - 3)):
            await file_request(
                resident_id=resident_id,
                kind=RequestKind.ACCESS,
                signatory_ids=[cast(int, i) for i in holders],
            )
        return resident_id


async def seed_only(database_url: str, *, signatories: int, adapter: str = "email") -> None:
    async with connected(database_url):
        await add_signatories(signatories, adapter=adapter)


async def run_worker_until_idle(settings: Settings) -> int:
    async with connected(settings.database_url):
        return await build_worker(Runtime.build(settings)).run_until_idle()


async def log_in(
    base_url: str,
    settings: Settings,
    sink: MailSink,
    email: str = RESIDENT_EMAIL,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.Cookies:
    """The real login: form, mailed link (the desk's worker sends it), confirmation POST.

    Returns the browser's cookies once the resident reaches their space.
    """
    async with httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport) as client:
        await client.get("/connexion")
        csrf = client.cookies.get("csrftoken") or ""
        sent = await client.post("/connexion", data={"csrftoken": csrf, "email": email})
        sent.raise_for_status()
        link = ""
        for _ in range(50):
            await (run_jobs(settings) if transport else run_worker_until_idle(settings))
            links = [x for m in sink.to(email) for x in m.links if "/connexion/" in x]
            if links:
                link = links[-1]
                break
            await asyncio.sleep(0.1)
        if not link:
            raise RuntimeError("no login link arrived")
        path = "/" + link.split("/", 3)[3]
        page = await client.get(path)
        page.raise_for_status()
        csrf = client.cookies.get("csrftoken") or csrf
        done = await client.post(path, data={"csrftoken": csrf})
        if done.status_code != 303:
            raise RuntimeError(f"login confirmation answered {done.status_code}")
        space = await client.get("/mon-espace")
        if space.status_code != 200 or "/connexion" in str(space.url):
            raise RuntimeError(f"/mon-espace answered {space.status_code} after login")
        return client.cookies


async def run_jobs(settings: Settings) -> int:
    """The worker, in a process where Tortoise is already initialised (an in-process app)."""
    return await build_worker(Runtime.build(settings)).run_until_idle()


def cookie_header(cookies: httpx.Cookies) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# --- one served desk with a logged-in resident (dashboard.py, erasure.py) --------------------


def web_arguments(doc: str, *, signatories: int) -> argparse.ArgumentParser:
    """The options every benchmark against `desk serve` takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--signatories", type=int, default=signatories)
    parser.add_argument(
        "--requests", type=int, default=3, help="the resident's requests (3 at least)"
    )
    parser.add_argument("--postgres", help="an EMPTY PostgreSQL database URL (default: SQLite)")
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of the server here")
    return parser


@dataclass
class ServedDesk:
    work: Path
    base: str
    database_url: str
    server: subprocess.Popen[bytes]
    # The logged-in resident's browser cookies.
    cookies: httpx.Cookies

    def stop(self) -> None:
        """Stop the server before the bare baseline, so the two never share the CPU."""
        self.server.terminate()
        self.server.wait(timeout=30)


@contextlib.contextmanager
def served_desk(args: argparse.Namespace) -> Iterator[ServedDesk]:
    """A prepared database, a mail sink, `desk serve` on loopback and a logged-in resident.

    The server stops when the block ends; the work directory lives until then too, so the
    bare baseline can be measured inside the block once the desk's own measure is done.
    """
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        sink = MailSink()
        smtp = SmtpSinkServer(sink, port=0)
        smtp.start()
        try:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            database_url = args.postgres or sqlite_url(work)
            env = settings_env(
                database_url=database_url,
                data_dir=work / "data",
                smtp_port=smtp.port,
                base_url=base,
            )
            asyncio.run(
                prepare(env, signatories=args.signatories, requests=getattr(args, "requests", 3))
            )
            settings = settings_from(env)
            with process(
                desk_command("serve", "--port", str(port)),
                env=desk_env(env),
                log=work / "serve.log",
                ready_url=base + "/",
            ) as server:
                cookies = asyncio.run(log_in(base, settings, sink))
                yield ServedDesk(work, base, database_url, server, cookies)
        finally:
            smtp.stop()
