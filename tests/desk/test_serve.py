"""`desk serve --workers 2` as an operator runs it: two uvicorn processes built by the app
factory, health endpoints answering, JSON log lines with the request id, no Server header."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import migrated_sqlite


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"desk serve did not start:\n{log.read_text()}")


@pytest.mark.functional
def test_serve_with_two_workers_answers_and_logs_json(tmp_path: Path) -> None:
    database = f"sqlite://{migrated_sqlite(tmp_path / 'desk.sqlite3')}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(DESK_DATABASE_URL=database, DESK_DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "desk.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        ready = httpx.get(base + "/readyz", timeout=5)
        home = httpx.get(base + "/", headers={"X-Request-ID": "probe-0123456789"}, timeout=5)
        token_page = httpx.get(base + "/connexion/un-jeton-secret?x=1", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise

    assert process.returncode == 0, log.read_text()
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert home.status_code == 200
    assert "server" not in home.headers
    assert home.headers["x-request-id"] == "probe-0123456789"
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "desk.access"]
    (home_line,) = [line for line in access if line.get("request_id") == "probe-0123456789"]
    assert home_line["route"] == "/" and home_line["status"] == 200
    assert any(line["route"] == "/connexion/{token}" for line in access)
    assert "un-jeton-secret" not in text and "x=1" not in text
    # Two worker processes, each started and stopped cleanly.
    started = [line for line in lines if line["msg"].startswith("Started server process")]
    assert len(started) == 2, text
    assert token_page.status_code in (200, 404, 410)
