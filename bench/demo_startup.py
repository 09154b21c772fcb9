"""How long `desk demo` takes from launch to answering its first page (a fresh data directory).

Run: .venv/bin/python bench/demo_startup.py [runs]
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import start_demo  # noqa: E402


def main(runs: int) -> None:
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            process, _base = start_demo(Path(tmp))
            timings.append(time.monotonic() - started)
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
    print(
        f"desk demo, first page answered: median {statistics.median(timings):.2f} s, "
        f"min {min(timings):.2f} s, max {max(timings):.2f} s over {runs} runs"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
