"""The language switch links to the page that answered, never to another site (issue 14, item 3).

Sent over a real socket to `desk demo`, byte for byte: an HTTP client would normalise these
request targets before they reach the server, which is exactly what an attacker's link does not.
"""

from __future__ import annotations

import html
import re
import socket
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.helpers import start_demo

SWITCH = re.compile(r'<a href="([^"]*)" lang="(?:fr|en)" hreflang="(?:fr|en)">')

HOSTILE_TARGETS = [
    "//evil.example/x",
    "///evil.example/x",
    "//evil.example",
    "/\\evil.example/x",
    "/\\\\evil.example/x",
    "/%2F%2Fevil.example/x",
    "/%2f/evil.example",
    "/%5Cevil.example/x",
    "/%5C%5Cevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D%0A//evil.example",
    "/%20//evil.example",
    "/.//evil.example",
    "//evil.example/?lang=fr",
    "//evil.example/%2e%2e/x",
    # Matched routes whose parameter carries the hostile part.
    "/signataires/%2F%2Fevil.example",
    "/signataires/%5Cevil.example",
    "/signataires/%09%2F%2Fevil.example",
    "/comprendre/%5C%5Cevil.example",
    "/recus/%2F%2Fevil.example",
    "/connexion/%5Cevil.example",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base = start_demo(tmp_path_factory.mktemp("lang"))
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def raw_get(base: str, target: str, *, language: str = "fr") -> tuple[int, str]:
    """GET `target` exactly as written (no client normalisation); (status, body)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept-Language: {language}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")
    chunks = []
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(request)
        while data := conn.recv(65536):
            chunks.append(data)
    answer = b"".join(chunks).decode("utf-8", "replace")
    head, _, body = answer.partition("\r\n\r\n")
    return int(head.split(" ", 2)[1]), body


def assert_on_site(href: str, target: str) -> None:
    # What a browser does to an href before resolving it: tabs and newlines removed,
    # backslashes read as slashes (WHATWG URL parsing of "special" schemes).
    seen = re.sub(r"[\t\n\r]", "", href).replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//"), (target, href)
    assert urlsplit(seen).netloc == "", (target, href)
    assert seen.endswith(("lang=en", "lang=fr")), (target, href)


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_language_link_never_leaves_the_site(demo: str, target: str) -> None:
    for language in ("fr", "en"):
        status, body = raw_get(demo, target, language=language)
        if status == 400:
            continue  # the server refused the request line itself: no page, no link
        links = [html.unescape(h) for h in SWITCH.findall(body)]
        assert links, (target, status, body[:300])
        for href in links:
            assert_on_site(href, target)


def test_an_unknown_page_links_to_the_home_page_and_a_known_one_to_itself(demo: str) -> None:
    status, body = raw_get(demo, "//evil.example/x")
    assert status == 404
    assert [html.unescape(h) for h in SWITCH.findall(body)] == ["/?lang=en"]
    status, body = raw_get(demo, "/signataires/eau-du-ponant?onglet=a%26b")
    assert status == 200
    assert [html.unescape(h) for h in SWITCH.findall(body)] == [
        "/signataires/eau-du-ponant?onglet=a%26b&lang=en"
    ]
    # A route parameter is written back encoded, and the page it names is the same page.
    status, body = raw_get(demo, "/signataires/%5Cevil.example")
    assert status == 404
    assert [html.unescape(h) for h in SWITCH.findall(body)] == [
        "/signataires/%5Cevil.example?lang=en"
    ]


def test_the_english_page_links_back_to_french_the_same_way(demo: str) -> None:
    status, body = raw_get(demo, "/%2F%2Fevil.example/x?lang=en")
    assert status == 404
    assert [html.unescape(h) for h in SWITCH.findall(body)] == ["/?lang=fr"]
