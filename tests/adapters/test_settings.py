"""Partner URLs typed in by the back office: never towards the desk's own network (SSRF)."""

from __future__ import annotations

import ipaddress

import pytest

from adapters.base import AdapterContext, PermanentAdapterError
from adapters.rest import RestAdapter
from adapters.settings import URL_PRIVATE, SettingsError, check_url
from adapters.webhook import WebhookAdapter
from desk.partners.webhooks import new_secret

INTERNAL = [
    "https://10.0.0.7/hook",
    "https://10.1/hook",  # 10.0.0.1, short form
    "https://167772161/hook",  # 10.0.0.1, as one number
    "https://0xa000001/hook",  # 10.0.0.1, in hexadecimal
    "https://192.168.1.20:8443/hook",
    "https://172.16.5.4/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://0.0.0.0/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:10.0.0.7]/hook",
    "https://224.0.0.1/hook",
    # This machine, in every spelling a resolver accepts (issue 14, item 7).
    "https://127.0.0.1/hook",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://017700000001/hook",
    "https://0177.0.0.1/hook",
    "https://127.1/hook",
    "https://0x7f.1/hook",
    "https://[::1]/hook",
    "https://[0:0:0:0:0:0:0:1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 spelling of 169.254.169.254
    "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 spelling of 169.254.169.254
    "https://[fd00:ec2::254]/latest/meta-data/",  # AWS metadata over IPv6
    "https://[::]/hook",
    "https://0/hook",
    "https://[ff02::1]/hook",
    "https://100.127.255.254/hook",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_an_address_of_an_internal_network_is_refused_in_french(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        check_url(url)
    assert str(refused.value) == URL_PRIVATE
    assert "réseau privé" in str(refused.value)


def test_public_names_stay_allowed_and_this_machine_only_when_the_operator_says_so() -> None:
    assert check_url("https://si.partenaire.fr/hook") == "https://si.partenaire.fr/hook"
    assert check_url("https://8.8.8.8/hook") == "https://8.8.8.8/hook"
    # The tests and the reference partner run on this machine: allowed explicitly.
    local = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
    assert check_url("http://127.0.0.1:9/hook", allowed=local) == "http://127.0.0.1:9/hook"
    assert check_url("https://[::1]:9/hook", allowed=local) == "https://[::1]:9/hook"
    for url in ("http://127.0.0.1:9/hook", "https://[::1]:9/hook", "http://localhost:9/"):
        with pytest.raises(SettingsError):
            check_url(url)


async def _no_mail(**_: object) -> str:
    return ""


async def test_a_stored_internal_url_is_refused_again_before_any_call() -> None:
    # A URL stored before this check existed (or written straight into the database) is
    # refused when the adapter reads its settings, not called.
    webhook = WebhookAdapter(
        AdapterContext(
            settings={"url": "https://169.254.169.254/hook", "secrets": [new_secret()]},
            send_mail=_no_mail,
            base_url="http://testserver",
        )
    )
    with pytest.raises(PermanentAdapterError):
        webhook._settings()
    rest = RestAdapter(
        AdapterContext(
            settings={"base_url": "https://10.0.0.7", "token": "jeton"},
            send_mail=_no_mail,
            base_url="http://testserver",
        )
    )
    with pytest.raises(PermanentAdapterError):
        rest._settings()
