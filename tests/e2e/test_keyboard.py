"""A resident who uses only the keyboard: Tab to move, Enter to follow a link or press a button.

From the home page to a confirmed erasure at every signatory holding data, in a real Chromium,
without the mouse API (no click, no fill). Opening the login link from the mailbox is the one
step outside the desk, like opening it from a mail program.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import axe

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed")

FOCUSED_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return {
    tag: e.tagName.toLowerCase(),
    id: e.id,
    href: e.getAttribute('href'),
    text: (e.innerText || e.value || e.getAttribute('aria-label') || '')
      .replace(/\\s+/g, ' ').trim(),
    outline: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
              && box.left < innerWidth && box.top < innerHeight,
  };
}"""


class Keyboard:
    """Tab through a page until the wanted element has the focus; record how focus looks."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.outlined: list[str] = []
        self.unseen: list[str] = []

    def focused(self) -> dict[str, Any] | None:
        info: dict[str, Any] | None = self.page.evaluate(FOCUSED_JS)
        return info

    def tab_to(self, text: str = "", *, element_id: str = "", limit: int = 150) -> dict[str, Any]:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            info = self.focused()
            if info is None:
                continue
            label = f"{info['tag']} {info['text'][:60]!r} on {self.page.url}"
            if info["outline"] != "none" and info["outlineWidth"] >= 2:
                self.outlined.append(label)
            if not info["onScreen"]:
                self.unseen.append(label)
            if (element_id and info["id"] == element_id) or (
                text and info["text"].startswith(text)
            ):
                return info
        raise AssertionError(f"Tab never reached {text or element_id!r} on {self.page.url}")

    def activate(self, text: str = "", *, element_id: str = "") -> None:
        self.tab_to(text, element_id=element_id)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")


KEYBOARD_USER = "alex.clavier@exemple.invalid"


def test_a_resident_erases_everywhere_with_the_keyboard_only() -> None:
    demo = axe.shared_demo().base
    with playwright_api.sync_playwright() as p:
        browser = axe.launch(p)
        page = browser.new_page(locale="fr-FR")
        page.set_default_timeout(15_000)
        keys = Keyboard(page)
        page.goto(demo + "/")

        skip = keys.tab_to("Aller au contenu")
        assert skip["onScreen"], "the skip link stays off screen when it has the focus"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "contenu"

        keys.activate("Commencer : recevoir un lien de connexion")
        assert page.url.endswith("/connexion")
        keys.tab_to(element_id="email")
        page.keyboard.type(KEYBOARD_USER)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "lien" in page.content()

        page.goto(axe.mailbox_link(demo, "/connexion/", to=KEYBOARD_USER))
        keys.activate("Me connecter")
        assert page.url.endswith("/mon-espace")

        keys.activate("Savoir qui détient mes données")
        keys.activate("Mon espace")
        # The dashboard refreshes itself only when asked to (issue 17): nothing to stop.
        axe.reload_until(page, "6 signataires sur 11 ont répondu")
        keys.activate(axe.ERASE_ALL)
        assert "/mon-espace/supprimer" in page.url
        keys.activate("Confirmer : supprimer mes données")

        assert "/mon-espace/demandes/" in page.url
        assert page.locator("h1").inner_text() == "Supprimer mes données"
        assert keys.outlined, "no focused element ever showed an outline"
        assert not keys.unseen, f"focused elements out of sight: {keys.unseen}"
        browser.close()
