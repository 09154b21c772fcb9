"""The issue's "done when", process by process, as an operator and a partner would run them.

`desk demo` (web app + worker) is one process; the reference partner (`desk partner-sim`) is
another; the signatories are configured with `desk partners configure` and
`desk partners create-client`, each a process of its own. A resident logs in with the link from
the demo mailbox and asks for an erasure over HTTP; the partner answers (by the partner API
after a signed webhook, or through its own REST API that the desk polls), and the resident's
request page ends up showing a signed receipt, checked against /.well-known/jwks.json.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from tests.helpers import LOCAL_PARTNER_NETWORKS, start_demo

WEBHOOK_SIGNATORY = "eau-du-ponant"
REST_SIGNATORY = "bibus"
REST_TOKEN = "jeton-api-du-partenaire-de-reference"
WAIT_SECONDS = 20


@dataclass(frozen=True)
class Processes:
    desk_url: str
    partner_url: str
    webhook_secret: str
    client_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _desk(tmp_path: Path, *commands: list[str]) -> list[str]:
    """Run `desk` commands side by side against the demo's database and data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATA_DIR=str(tmp_path / "data"),
        DESK_DATABASE_URL=f"sqlite://{tmp_path / 'desk-demo.sqlite3'}",
        # `desk partners configure` checks partner URLs too: the partner runs on this machine.
        DESK_PARTNER_ALLOWED_NETWORKS=LOCAL_PARTNER_NETWORKS,
    )
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "desk.cli", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, out + err
        outputs.append(out)
    return outputs


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s*:?\s+(\S+)\s*$", output, re.MULTILINE)
    assert match, f"{name!r} not printed:\n{output}"
    return match.group(1)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    tmp_path = tmp_path_factory.mktemp("two-processes")
    desk, desk_url = start_demo(tmp_path, DESK_WORKER_POLL_INTERVAL="0.2")
    partner: subprocess.Popen[str] | None = None
    try:
        partner_port = _free_port()
        partner_url = f"http://127.0.0.1:{partner_port}"
        # An operator's three commands, run at once to keep the test short.
        client, webhook, _ = _desk(
            tmp_path,
            ["partners", "create-client", WEBHOOK_SIGNATORY, "--label", "SI de test"],
            [
                "partners", "configure", WEBHOOK_SIGNATORY, "--adapter", "webhook",
                "--set", f"url={partner_url}/webhooks/desk",
            ],
            [
                "partners", "configure", REST_SIGNATORY, "--adapter", "rest",
                "--set", f"base_url={partner_url}", "--set", f"token={REST_TOKEN}",
                "--set", "poll_interval=1",
            ],
        )  # fmt: skip
        client_id = _field(client, "client_id")
        client_secret = _field(client, "client_secret")
        webhook_secret = _field(webhook, "Nouveau secret de signature")
        partner = subprocess.Popen(
            [
                sys.executable, "-m", "desk.cli", "partner-sim", "--port", str(partner_port),
                "--desk-url", desk_url, "--client-id", client_id,
                "--client-secret", client_secret, "--webhook-secret", webhook_secret,
                "--api-token", REST_TOKEN,
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(partner_url + "/", timeout=2)
                break
            except httpx.TransportError:
                if partner.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("partner-sim did not start:\n" + _stop(partner)) from None
                time.sleep(0.1)
        yield Processes(desk_url, partner_url, webhook_secret, client_id)
    finally:
        if partner is not None:
            print(_stop(partner))  # shown by pytest when a test failed
        output = _stop(desk)
        print(output)
        assert "Arrêté proprement" in output, output


def _login(browser: httpx.Client, email: str) -> None:
    browser.get("/connexion")
    csrf = browser.cookies["csrftoken"]
    sent = browser.post("/connexion", data={"csrftoken": csrf, "email": email})
    assert sent.status_code == 200, sent.text
    link = None
    deadline = time.monotonic() + WAIT_SECONDS
    while link is None and time.monotonic() < deadline:
        mails = browser.get("/dev/mailbox.json", params={"to": email}).json()
        links = [u for m in mails for u in m["links"] if "/connexion/" in u]
        link = links[-1] if links else None
        time.sleep(0.1)
    assert link, "the login link never reached the demo mailbox"
    path = urlsplit(link).path
    assert "Me connecter" in browser.get(path).text
    logged = browser.post(path, data={"csrftoken": csrf})
    assert logged.status_code == 303 and logged.headers["location"].endswith("/mon-espace")


def _erase_and_wait_for_receipt(desk_url: str, email: str, slug: str) -> dict[str, object]:
    """File an erasure at `slug` as a resident, and verify the receipt the page shows."""
    with httpx.Client(base_url=desk_url, timeout=10) as browser:
        _login(browser, email)
        filed = browser.post(
            "/mon-espace/demandes",
            data={
                "csrftoken": browser.cookies["csrftoken"],
                "submission_key": secrets.token_urlsafe(16),
                "kind": "erasure",
                "signatory": slug,
            },
        )
        assert filed.status_code == 303, filed.text
        page_path = urlsplit(filed.headers["location"]).path
        receipt_path = None
        deadline = time.monotonic() + WAIT_SECONDS
        while receipt_path is None and time.monotonic() < deadline:
            page = browser.get(page_path)
            assert page.status_code == 200
            found = re.search(r'href="(/recus/[^"./?]+)"', page.text)
            receipt_path = found.group(1) if found else None
            time.sleep(0.2)
        assert receipt_path, f"no receipt on the request page after {WAIT_SECONDS} s:\n{page.text}"
        assert "Voir le reçu signé" in page.text
        token = browser.get(receipt_path + ".jws").text
        keys = browser.get("/.well-known/jwks.json").json()
    # Any JOSE library, with only the published keys, confirms the desk signed it.
    verified = jws.deserialize_compact(token, KeySet.import_key_set(keys), algorithms=["ES256"])
    payload: dict[str, object] = json.loads(verified.payload)
    assert payload["kind"] == "erasure"
    assert payload["status"] == "RequestFulfilled"
    assert email not in json.dumps(payload)
    return payload


def test_webhook_partner_process_fulfils_an_erasure_and_the_resident_holds_a_receipt(
    processes: Processes,
) -> None:
    payload = _erase_and_wait_for_receipt(
        processes.desk_url, "maelle.webhook@exemple.invalid", WEBHOOK_SIGNATORY
    )
    assert payload["signatory"] == {"slug": WEBHOOK_SIGNATORY, "name": "Eau du Ponant"}
    assert payload["outcome"] == {"result": "erased", "note": "Effacé par le système de référence."}


def test_rest_partner_process_is_polled_and_the_resident_holds_a_receipt(
    processes: Processes,
) -> None:
    payload = _erase_and_wait_for_receipt(
        processes.desk_url, "yann.rest@exemple.invalid", REST_SIGNATORY
    )
    assert isinstance(payload["signatory"], dict)
    assert payload["signatory"]["slug"] == REST_SIGNATORY
    assert isinstance(payload["outcome"], dict)
    assert payload["outcome"]["result"] == "erased"
