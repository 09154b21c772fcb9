"""`desk demo` as a person runs it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_seeded_register_and_mailbox_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_DATA_DIR"] = str(tmp_path / "data")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "desk.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        home = None
        while time.monotonic() < deadline:
            try:
                home = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.2)
        assert home is not None and home.status_code == 200
        print(f"desk demo answered its first page after {time.monotonic() - started:.2f} s")
        register = httpx.get(base + "/signataires", timeout=5)
        assert "Eau du Ponant" in register.text
        assert httpx.get(base + "/dev/mailbox.json", timeout=5).json() == []
        assert (tmp_path / "desk-demo.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"{base}/connexion" in output
    assert "Arrêté proprement" in output
