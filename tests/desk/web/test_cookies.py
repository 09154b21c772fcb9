"""Cookies parsed once per request, as the session, CSRF and locale middlewares read them."""

from __future__ import annotations

from starlette.types import Scope

from desk.web.cookies import SCOPE_KEY, cookies_of
from desk.web.i18n import locale_of_scope


def _scope(*headers: tuple[bytes, bytes], query: bytes = b"") -> Scope:
    return {"type": "http", "headers": list(headers), "query_string": query}


def test_the_first_cookie_header_naming_a_cookie_gives_it_and_the_parse_is_kept() -> None:
    scope = _scope(
        (b"cookie", b"desk_session=abc; lang=en"),
        (b"accept", b"text/html"),
        (b"cookie", b"desk_session=other; csrftoken=t.1"),
    )
    assert cookies_of(scope) == {"desk_session": "abc", "lang": "en", "csrftoken": "t.1"}
    scope[SCOPE_KEY]["lang"] = "fr"
    assert cookies_of(scope)["lang"] == "fr"
    assert cookies_of(_scope()) == {}


def test_the_locale_comes_from_the_query_then_the_cookie_then_the_browser() -> None:
    english = (b"accept-language", b"en-GB,en;q=0.8")
    assert locale_of_scope(_scope(english)) == ("en", None)
    assert locale_of_scope(_scope(english, (b"cookie", b"lang=fr"))) == ("fr", None)
    assert locale_of_scope(_scope(english, query=b"lang=fr")) == ("fr", "fr")
    # A name written with an escape still names the language, as a parsed query says.
    assert locale_of_scope(_scope(query=b"l%61ng=en")) == ("en", "en")
    assert locale_of_scope(_scope(query=b"lang=xx")) == ("fr", "xx")
    assert locale_of_scope(_scope()) == ("fr", None)
