"""What the fault tests share: `desk worker` processes to start and kill, deliveries to file."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from desk.core import crypto
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.settings import Settings
from tests.factories import make_resident, make_signatory
from tests.helpers import column


def worker_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a `desk worker` sharing the test's database, keys and mail server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL=settings.database_url,
        DESK_SECRET_KEY=settings.secret_key,
        DESK_DATA_DIR=str(settings.data_dir),
        DESK_BASE_URL=settings.base_url,
        DESK_SMTP_PORT=str(settings.smtp_port),
        DESK_WORKER_POLL_INTERVAL="0.1",
        DESK_OUTBOX_BASE_DELAY="0.1",
        DESK_OUTBOX_MAX_DELAY="0.5",
        # The test's partners listen on this machine: allowed as the test settings allow them.
        DESK_PARTNER_ALLOWED_NETWORKS=settings.partner_allowed_networks,
    )
    env.update(overrides)
    return env


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


# What `desk worker` logs once its signal handlers are in place (desk.outbox.worker).
_STARTED = re.compile(r"worker \S+ started")


@dataclass
class WorkerProcesses:
    """`desk worker` processes, each logging to its own file (a full pipe would stall it)."""

    env: dict[str, str]
    log_dir: Path
    running: list[Running] = field(default_factory=list)
    started: int = 0
    killed: int = 0

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            self.started += 1
            path = self.log_dir / f"worker-{self.started}.log"
            with path.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "desk.cli", "worker"],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.running.append(Running(process, path))

    def kill(self, worker: Running) -> None:
        """SIGKILL: no handler runs, no transaction commits, its job stays RUNNING."""
        self.running.remove(worker)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)
        self.killed += 1

    def kill_one_at_work(self, rng: random.Random) -> bool:
        """Kill a random worker that has been running jobs (so most likely is in one now)."""
        candidates = [w for w in self.running if ") done" in w.log_text()]
        if not candidates:
            return False
        self.kill(rng.choice(candidates))
        return True

    def stop(self) -> list[int]:
        """SIGTERM, the way an operator stops a worker; their exit codes. A worker started a
        moment ago is first let reach its loop: a SIGTERM while Python still imports the desk
        ends it before any handler exists (nothing is held yet, but it exits -15)."""
        deadline = time.monotonic() + 30
        for worker in self.running:
            while (
                worker.process.poll() is None
                and _STARTED.search(worker.log_text()) is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
        for worker in self.running:
            worker.process.send_signal(signal.SIGTERM)
        codes = []
        deadline = time.monotonic() + 15
        for worker in self.running:
            try:
                codes.append(worker.process.wait(timeout=max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                codes.append(worker.process.wait())
        self.running.clear()
        return codes

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


async def file_webhook_deliveries(
    settings: Settings, *, url: str, secret: str, signatories: int, residents: int
) -> set[int]:
    """signatories × residents deliveries on the webhook channel; their ids."""
    signatory_ids = []
    for n in range(signatories):
        signatory = await make_signatory(f"partenaire-{n}", adapter="webhook")
        signatory.adapter_settings = {
            "url": url,
            "secrets": [crypto.encrypt(settings.secret_key, secret)],
            "timeout": 10,
        }
        await signatory.save()
        signatory_ids.append(signatory.id)
    for n in range(residents):
        resident = await make_resident(f"habitant-{n}@exemple.invalid")
        await file_request(
            resident_id=resident.id, kind=RequestKind.DISCOVERY, signatory_ids=signatory_ids
        )
    return set(await column(Delivery.all(), "id"))
