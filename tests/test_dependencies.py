"""The dependency audit (tools/dependency_audit.py): PyPI's advisories for what is installed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tools import dependency_audit

ADVISORY = {"id": "PYSEC-2099-1", "fixed_in": ["2.0.1"], "withdrawn": None}
PROJECTS: dict[str, dict[str, Any]] = {
    "vulnerable": {"info": {"version": "2.0.0"}, "vulnerabilities": [ADVISORY]},
    "withdrawn": {
        "info": {"version": "1.0.0"},
        "vulnerabilities": [{**ADVISORY, "withdrawn": "2099-01-02T00:00:00Z"}],
    },
    "behind": {"info": {"version": "9.0.0"}, "vulnerabilities": []},
    "clean": {"info": {"version": "1.2.3"}, "vulnerabilities": []},
}


class _Index(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        name = self.path.strip("/").split("/")[1] if self.path.startswith("/pypi/") else ""
        project = PROJECTS.get(name)
        body = json.dumps(project).encode() if project else b"{}"
        self.send_response(200 if project else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_advisory_on_the_installed_release_is_reported(index: str) -> None:
    report = dependency_audit.audit(
        {"vulnerable": "2.0.0", "withdrawn": "1.0.0", "behind": "1.0.0", "clean": "1.2.3",
         "private": "0.1"},
        index=index,
    )  # fmt: skip
    assert report.vulnerable == [("vulnerable", "2.0.0", "PYSEC-2099-1", "2.0.1")]
    assert report.checked == 3  # vulnerable, withdrawn (not counted as known), clean
    assert report.unchecked == [("behind", "1.0.0", "9.0.0")]
    assert report.unknown == ["private"]


def test_an_unreachable_index_checks_nothing_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert dependency_audit.main(["--index", "http://127.0.0.1:9"]) == 2
    assert "nothing was checked" in capsys.readouterr().out


@pytest.mark.functional
def test_the_installed_environment_has_no_known_vulnerability(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = dependency_audit.main([])
    out = capsys.readouterr().out
    if status == 2:
        pytest.skip(f"PyPI is not reachable from here: {out.strip()}")
    assert status == 0, out
