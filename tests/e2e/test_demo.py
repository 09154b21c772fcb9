"""`desk demo` as a person runs it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.helpers import start_demo


def test_demo_serves_seeded_register_and_mailbox_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    started = time.monotonic()
    process, base = start_demo(tmp_path, fresh=True)
    try:
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
