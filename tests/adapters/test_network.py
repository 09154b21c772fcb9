"""Partner calls never reach inside the desk's network (issue 14, item 7): names are resolved
at the call, internal answers refused, and the desk connects to the very address it checked.

The adapters and the partners' servers are real (uvicorn, over TLS with a certificate for the
partner's name); only name resolution is replaced, since no test controls a DNS zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import adapters.webhook
from adapters.base import AdapterContext, Envelope, PermanentAdapterError
from adapters.network import BlockedDestination, guarded_client
from adapters.rest import RestAdapter
from adapters.webhook import WebhookAdapter
from desk.audit.models import AuditRecord
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.partners.channels import ChannelError, configure_channel
from desk.partners.webhooks import new_secret
from desk.registry.models import Signatory
from desk.requests.models import Delivery
from desk.settings import Settings
from tests.desk.backoffice.test_channel_switch import _failed_delivery
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_signatory

NAME = "partenaire.test"
LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)
SECRET = {"DESK_SECRET_KEY": "test-secret-key-not-for-production"}
INTERNAL_ANSWERS = ["127.0.0.1", "10.0.0.7", "169.254.169.254", "100.64.0.1", "fd00:ec2::254"]


# --- a partner over TLS, with a certificate for its name only -----------------------------------


@dataclass
class Pki:
    directory: Path
    client_context: ssl.SSLContext = field(init=False)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            # The name only, no IP address: a connection checked against an IP would fail.
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (self.directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        (self.directory / "leaf.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        self.client_context = ssl.create_default_context(cadata=ca_pem)


@dataclass
class Partner:
    host: str
    seen: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.seen.append({"host": request.headers.get("host", ""), "path": request.url.path})
            if request.method == "POST" and request.url.path.endswith("data-rights-request"):
                return JSONResponse({"request_id": "r-1", "status": "open"})
            return Response(status_code=204)

        return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@contextlib.contextmanager
def serve_tls(partner: Partner, pki: Pki, port: int) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((partner.host, port))
    sock.listen(16)
    config = uvicorn.Config(
        partner.app(),
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(pki.directory / "leaf.pem"),
        ssl_keyfile=str(pki.directory / "leaf.key"),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pki:
    made = Pki(tmp_path)
    # The partner's certificate comes from this test's CA: the adapters trust it, and only it.
    monkeypatch.setattr(adapters.webhook, "tls_context", lambda: made.client_context)
    return made


# --- name resolution: what DNS would answer -----------------------------------------------------


@dataclass
class FakeDns:
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def answer(self, name: str, *rounds: list[str]) -> None:
        """`name` resolves to rounds[0], then rounds[1] at the next lookup, and so on."""
        self.answers[name] = list(rounds)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in fake.answers:
            return real(host, port, *args, **kwargs)
        fake.asked.append(name)
        rounds = fake.answers[name]
        addresses = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        result = []
        for written in addresses:
            address = ipaddress.ip_address(written)
            family = socket.AF_INET if address.version == 4 else socket.AF_INET6
            sockaddr: tuple[Any, ...] = (
                (written, int(port or 0))
                if address.version == 4
                else (written, int(port or 0), 0, 0)
            )
            result.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return result

    # Every resolver path goes through it: asyncio's, anyio's (httpcore), and ours.
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def _envelope() -> Envelope:
    received = dt.datetime(2025, 3, 3, 9, 30, tzinfo=dt.UTC)
    return Envelope(
        delivery_id=42,
        request_reference="DMD-TEST-0001",
        kind="erasure",
        signatory_slug="eau-du-ponant",
        signatory_name="Eau du Ponant",
        identifiers={"email": "camille@exemple.invalid"},
        received_at=received,
        due_at=received + dt.timedelta(days=31),
        answer_url="http://testserver/partenaires/reponse/xyz",
        idempotency_key="delivery-42",
    )


async def _no_mail(**_: Any) -> str:
    raise AssertionError("no mail here")


def _webhook(url: str, allowed: tuple[Any, ...] = ()) -> WebhookAdapter:
    return WebhookAdapter(
        AdapterContext(
            settings={"url": url, "secrets": [new_secret()], "timeout": 5},
            send_mail=_no_mail,
            base_url="http://testserver",
            allowed_networks=allowed,
        )
    )


def _rest(url: str, allowed: tuple[Any, ...] = ()) -> RestAdapter:
    return RestAdapter(
        AdapterContext(
            settings={"base_url": url, "token": "jeton", "timeout": 5},
            send_mail=_no_mail,
            base_url="http://testserver",
            allowed_networks=allowed,
        )
    )


ADAPTERS: list[Callable[[str, tuple[Any, ...]], WebhookAdapter | RestAdapter]] = [_webhook, _rest]


# --- at the call ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ADAPTERS, ids=["webhook", "rest"])
async def test_a_name_resolving_inside_is_refused_at_the_call_and_nothing_is_sent(
    make: Callable[[str, tuple[Any, ...]], WebhookAdapter | RestAdapter], pki: Pki, dns: FakeDns
) -> None:
    partner = Partner("127.0.0.1")
    with serve_tls(partner, pki, 0) as port:
        for internal in INTERNAL_ANSWERS:
            dns.answer(NAME, [internal])
            with pytest.raises(PermanentAdapterError) as refused:
                await make(f"https://{NAME}:{port}/hook", ()).deliver(_envelope())
            assert isinstance(refused.value, BlockedDestination), internal
            assert "internal" in str(refused.value)
        assert not partner.seen
        # Allowed by the operator: the same partner is reached.
        dns.answer(NAME, ["127.0.0.1"])
        await make(f"https://{NAME}:{port}/hook", LOCAL).deliver(_envelope())
    assert len(partner.seen) == 1


@pytest.mark.parametrize("make", ADAPTERS, ids=["webhook", "rest"])
async def test_the_desk_connects_to_the_address_it_checked_with_tls_on_the_name(
    make: Callable[[str, tuple[Any, ...]], WebhookAdapter | RestAdapter], pki: Pki, dns: FakeDns
) -> None:
    # DNS rebinding: the first answer is allowed, the next ones lead elsewhere (127.0.0.2,
    # not allowed). The desk must not look the name up again to connect.
    checked, elsewhere = Partner("127.0.0.1"), Partner("127.0.0.2")
    with serve_tls(checked, pki, 0) as port, serve_tls(elsewhere, pki, port):
        dns.answer(NAME, ["127.0.0.1"], ["127.0.0.2"])
        await make(f"https://{NAME}:{port}/hook", LOCAL).deliver(_envelope())
    assert dns.asked == [NAME]
    assert elsewhere.seen == []
    # The partner saw its own name (Host header), and TLS was checked against that name: the
    # certificate names no address, so a connection checked against 127.0.0.1 would fail.
    ((seen),) = checked.seen
    assert seen["host"] == f"{NAME}:{port}"


async def test_the_guarded_client_refuses_every_spelling_of_this_machine(dns: FakeDns) -> None:
    # Literals need no lookup: refused before any connection is tried.
    for url in (
        "http://0x7f000001:9/",
        "http://2130706433:9/",
        "http://017700000001:9/",
        "http://127.1:9/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://0.0.0.0:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ):
        async with guarded_client(allowed=(), timeout=httpx.Timeout(2), verify=True) as client:
            with pytest.raises(BlockedDestination):
                await client.get(url)
    # 0.0.0.0 means "this machine" to a socket: never allowed, whatever the allow-list says.
    everything = (ipaddress.ip_network("0.0.0.0/0"),)
    async with guarded_client(allowed=everything, timeout=httpx.Timeout(2), verify=True) as c:
        with pytest.raises(BlockedDestination):
            await c.get("http://0.0.0.0:9/")


# --- when configured, by the command line or the back office ------------------------------------


async def test_configuring_a_url_that_leads_inside_is_refused_and_not_stored(
    app: Starlette, dns: FakeDns
) -> None:
    await make_signatory("bibus")
    dns.answer("interne.partenaire.test", ["10.0.0.7"])
    dns.answer("meta.partenaire.test", ["fd00:ec2::254"])
    for url in (
        "https://interne.partenaire.test/hook",
        "https://meta.partenaire.test/hook",
        "https://0x7f000002/hook",  # 127.0.0.2: outside the tests' 127.0.0.1/32
        "https://[::1]/hook",
        "http://localhost:9/hook",
    ):
        with pytest.raises(ChannelError) as refused:
            await configure_channel(
                slug="bibus", adapter="webhook", settings={"url": url}, secret_key="clé"
            )
        assert "réseau privé" in refused.value.message, url
    assert (await Signatory.get(slug="bibus")).adapter == "email"
    # The operator's allow-list lets a town's internal partner in, by name or by address.
    dns.answer("si.ville.test", ["127.0.0.1"])
    for url in ("https://si.ville.test/hook", "http://127.0.0.1:9/hook"):
        done = await configure_channel(
            slug="bibus",
            adapter="webhook",
            settings={"url": url},
            secret_key="clé",
            allowed_networks=LOCAL,
        )
        assert done.settings["url"] == url


async def test_the_back_office_cannot_point_a_failed_delivery_inside(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, dns: FakeDns
) -> None:
    _, failed = await _failed_delivery(worker)
    await staff_log_in(client, worker, mail_sink)
    url = f"/back-office/envois/{failed.id}/canal"
    dns.answer("partenaire.test", ["169.254.169.254"])
    for target in (
        "https://partenaire.test/hook",
        "https://2130706434/hook",  # 127.0.0.2, as one number
        "https://[::ffff:a9fe:a9fe]/",
        "https://[::1]:8443/",
    ):
        refused = await post_form(client, url, {"channel": "webhook", "settings": f"url={target}"})
        assert refused.status_code == 422, target
        assert "réseau privé" in text(refused), target
    assert (await Delivery.get(id=failed.id)).channel is None
    assert not await AuditRecord.filter(action="partner.channel_configured").exists()


def test_the_allow_list_setting_is_read_from_the_environment_and_checked_at_start() -> None:
    settings = Settings.from_env(
        {"DESK_PARTNER_ALLOWED_NETWORKS": "10.20.0.0/16, 127.0.0.1/32 fd12::/64", **SECRET}
    )
    assert [str(n) for n in settings.partner_networks] == [
        "10.20.0.0/16",
        "127.0.0.1/32",
        "fd12::/64",
    ]
    assert Settings.from_env(SECRET).partner_networks == ()
    with pytest.raises(ValueError, match="n'est pas un réseau"):
        Settings.from_env({"DESK_PARTNER_ALLOWED_NETWORKS": "10.20.0.0/16, intranet", **SECRET})
