"""What every benchmark shares: machine facts, real server processes, wrk, the bare yardstick.

Nothing here asserts: the scripts print figures, and the ratio to the bare Starlette app
measured in the same run, so a result stays comparable on a loaded or different machine.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from desk.outbox.wakeup import listen_dsn

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WRK = "/usr/bin/wrk"
LUA_DIR = Path(__file__).resolve().parent / "wrk"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def postgres_version(url: str) -> str:
    try:
        out = subprocess.run(
            ["psql", url, "-tAc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def machine_facts(postgres_url: str | None = None) -> dict[str, str]:
    """Recorded with each result: what the figures were measured on, and how busy it was."""
    load = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(postgres_url or DEFAULT_PG + "/postgres"),
        "load_average": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def print_facts(facts: dict[str, str]) -> None:
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)


def wait_http(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {process.returncode}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def process(
    args: list[str], *, env: dict[str, str] | None = None, log: Path, ready_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process (output to `log`), waited for on `ready_url`, stopped at the end."""
    with log.open("ab") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        if ready_url:
            wait_http(ready_url, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def desk_env(settings_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(settings_env)
    return env


def desk_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "desk.cli", *args]


@contextlib.contextmanager
def bare_app(log_dir: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with process(
        [PYTHON, str(ROOT / "bench" / "bare_app.py"), str(port)],
        log=log_dir / "bare.log",
        ready_url=url,
    ):
        yield url


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx_3xx: int

    def line(self, what: str) -> str:
        errors = f", {self.errors} socket errors" if self.errors else ""
        bad = f", {self.non_2xx_3xx} answers >= 400" if self.non_2xx_3xx else ""
        return (
            f"{what}: {self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms "
            f"({self.requests} requests in {self.seconds:.1f} s{errors}{bad})"
        )


def wrk(
    url: str,
    *,
    connections: int = 64,
    seconds: int = 10,
    threads: int = 2,
    script: str = "",
    variables: dict[str, str] | None = None,
) -> WrkResult:
    """Run wrk with a request script (bench/wrk/*.lua) plus the JSON reporter; parse its report.

    `variables` reach the Lua script as globals (strings), set before it runs.
    """
    preamble = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (variables or {}).items())
    body = (LUA_DIR / script).read_text() if script else ""
    reporter = (LUA_DIR / "report.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(preamble + body + "\n" + reporter)
        path = f.name
    try:
        out = subprocess.run(
            [
                WRK,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                path,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(path)
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    data = json.loads(line[5:])
    secs = data["duration_us"] / 1e6
    return WrkResult(
        requests=int(data["requests"]),
        seconds=secs,
        rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
        non_2xx_3xx=int(data["status"]),
    )


def bare_baseline(log_dir: Path, *, connections: int = 64, seconds: int = 10) -> WrkResult:
    with bare_app(log_dir) as url:
        wrk(url, connections=connections, seconds=2)  # warm-up
        return wrk(url, connections=connections, seconds=seconds)


def ratio(value: float, reference: float) -> str:
    return f"{100 * value / reference:.0f}%" if reference else "n/a"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields of the line, counted from the pid.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_server_cpu() -> float:
    """CPU seconds used so far by every live PostgreSQL process of this machine (backends, WAL
    writer, checkpointer, autovacuum): the database's share of a run, whoever asked for it."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):  # a process gone meanwhile
            if stat.read_text().strip() == "postgres":
                total += cpu_seconds(int(stat.parent.name))
    return total


async def analyze(database_url: str) -> None:
    """PostgreSQL (nothing on SQLite): statistics for the tables just filled, as autovacuum
    keeps them in service. Without them, each connection kept the plans it made while the
    tables held a few rows: the claim gathered and sorted every due job, the worker's batches
    read the deliveries and their trails by sequential scans (bench/README.md, eighth pass)."""
    dsn = listen_dsn(database_url)
    if dsn is None:
        return
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def sqlite_url(directory: Path) -> str:
    return f"sqlite://{directory / 'desk.sqlite3'}"


def _py_spy(pid: int, output: str, seconds: int | None) -> subprocess.Popen[bytes]:
    """py-spy recording a process as raw collapsed stacks (for reading, or a flame graph)."""
    duration = ["--duration", str(seconds)] if seconds is not None else []
    return subprocess.Popen(
        [
            str(Path(PYTHON).parent / "py-spy"), "record", "--pid", str(pid), *duration,
            "--rate", "200", "--format", "raw", "--nonblocking", "--output", output,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


@contextlib.contextmanager
def profiled(pid: int, output: str | None, *, seconds: int) -> Iterator[None]:
    """py-spy on a server process while the block runs, for `seconds` at most."""
    if not output:
        yield
        return
    spy = _py_spy(pid, output, seconds)
    try:
        yield
    finally:
        spy.wait(timeout=seconds + 30)


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextlib.contextmanager
def spying(pid: int, output: str | None) -> Iterator[None]:
    """py-spy on a process for as long as the block runs, however long that is: stopped by
    SIGINT, on which py-spy writes what it sampled."""
    if not output:
        yield
        return
    spy = _py_spy(pid, output, None)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()


@contextlib.contextmanager
def client_gc_held() -> Iterator[None]:
    """The measuring client's garbage collector held off for a timed burst, then run.

    The client process holds the desk's modules and Tortoise (for its checks): a full
    collection there took 55–117 ms, and every request in flight meanwhile was charged for
    it. The ten slowest filings of a 300-filing run all ended the moment the client's
    collection did (gc callbacks and per-filing timestamps, bench/README "tenth pass").
    Used for the bare yardstick and the desk alike."""
    gc.collect()
    gc.freeze()  # what exists before the burst is never scanned during it
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
