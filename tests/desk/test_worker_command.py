"""`desk worker` as an operator starts it: at a lower CPU priority than the web app unless told
otherwise (DESK_WORKER_NICE), and a nice level or a worker size out of range refused before it
starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import migrated_sqlite

STARTED = re.compile(r"worker \S+ started")


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL=f"sqlite://{tmp_path / 'desk.sqlite3'}",
        DESK_DATA_DIR=str(tmp_path / "data"),
        DESK_SECRET_KEY="worker-command-test-" + "x" * 40,
        **settings,
    )
    return env


def _nice_of(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ..."; nice is the 19th field, the 17th after comm.
    after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_comm[16])


def _nice_of_started_worker(tmp_path: Path, **settings: str) -> int:
    migrated_sqlite(tmp_path / "desk.sqlite3")
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "desk.cli", "worker"],
            env=_env(tmp_path, **settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not STARTED.search(log.read_text(errors="replace")):
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        nice = _nice_of(worker.pid)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
        return nice
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("setting", "wanted"),
    [({}, 10), ({"DESK_WORKER_NICE": "7"}, 7), ({"DESK_WORKER_NICE": "0"}, 0)],
    ids=["default", "seven", "zero-keeps-its-priority"],
)
def test_the_worker_lowers_its_priority_as_configured(
    tmp_path: Path, setting: dict[str, str], wanted: int
) -> None:
    # Never raised above what it was started with (that would need privileges).
    assert _nice_of_started_worker(tmp_path, **setting) == max(wanted, os.nice(0))


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DESK_WORKER_NICE", "20", "DESK_WORKER_NICE=20: a nice level from 0"),
        ("DESK_WORKER_NICE", "-5", "DESK_WORKER_NICE=-5: a nice level from 0"),
        ("DESK_WORKER_NICE", "dix", "DESK_WORKER_NICE='dix': an integer is expected"),
        ("DESK_WORKER_CONCURRENCY", "0", "DESK_WORKER_CONCURRENCY=0: a number of jobs from 1"),
        (
            "DESK_WORKER_CONCURRENCY",
            "1" + "0" * 50,
            f"DESK_WORKER_CONCURRENCY=1{'0' * 50}: a number of jobs from 1 to 1000",
        ),
        ("DESK_WORKER_CLAIM_BATCH", "-1", "DESK_WORKER_CLAIM_BATCH=-1: a number of jobs from 1"),
        ("DESK_WORKER_INTAKE_YIELD", "nan", "DESK_WORKER_INTAKE_YIELD=nan: seconds from 0"),
        ("DESK_WORKER_INTAKE_YIELD", "61", "DESK_WORKER_INTAKE_YIELD=61.0: seconds from 0"),
    ],
)
def test_a_worker_setting_out_of_range_is_refused_in_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "desk.cli", "worker"],
        env=_env(tmp_path, **{name: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("desk: configuration: " + says)
    assert "Traceback" not in done.stderr
