"""axe-core (Deque's accessibility engine) run inside a real page driven by Playwright.

axe-core comes from npm (package.json at the project root, `npm ci`); the tests that use it skip
when node_modules/axe-core/axe.min.js is missing. The page's browser context must have JavaScript
enabled and `bypass_csp=True`: the script is inserted inline, which the desk's CSP forbids.

It also holds what the page tests (accessibility, keyboard, layout) share: one `desk demo` for the
test process, a back-office agent, and a resident's journey (discovery, then erasure everywhere)
walked over HTTP in the background while the browser audits the public pages.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MISSING_REASON = (
    f"{AXE_JS} is missing: run `npm ci` (or `npm install`) at the project root "
    "to install axe-core for the accessibility checks"
)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def available() -> bool:
    return AXE_JS.is_file()


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Inject axe-core into `page` (once) and return the WCAG 2.1 A/AA violations it finds."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
            });
            return result.violations;
        }""",
        WCAG_TAGS,
    )
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One readable line per violation and affected element (rule, impact, selector, summary)."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v.get('help')}")
        for node in v.get("nodes", [])[:6]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary[:300]}")
    return "\n".join(lines)


# Browser and demo helpers shared by the page tests (accessibility, keyboard, layout).

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RESIDENT = "camille.demo@exemple.invalid"
STAFF = "agent.demo@exemple.invalid"
ERASE_ALL = "Supprimer mes données chez tous les signataires qui en détiennent"


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def audit_walk(walk: Callable[[Any, Demo], dict[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Run a walk of audited pages in a fresh Chromium over the shared demo (module fixtures)."""
    from playwright.sync_api import sync_playwright

    demo = shared_demo()
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield walk(browser, demo)
        finally:
            browser.close()


def mailbox_links(base: str, contains: str, *, to: str | None = None) -> list[str]:
    """Every link containing `contains` in the demo's captured mail, oldest first."""
    params = {"to": to} if to else {}
    mails = httpx.get(base + "/dev/mailbox.json", params=params, timeout=5).json()
    return [str(u) for m in mails for u in m["links"] if contains in u]


def mailbox_link(
    base: str,
    contains: str,
    *,
    to: str | None = None,
    seconds: float = 20,
    besides: Collection[str] = (),
) -> str:
    """The newest link containing `contains` in the demo's captured mail (waits for it). The
    demo is shared by several modules: `besides` are the links already there before the mail
    awaited, so an older link to the same address is never taken for the new one."""
    deadline = time.monotonic() + seconds
    while True:
        links = [u for u in mailbox_links(base, contains, to=to) if u not in besides]
        if links:
            return links[-1]
        assert time.monotonic() < deadline, f"no link with {contains!r} arrived in the mailbox"
        time.sleep(0.2)


def reload_until(page: Any, text: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.content():
        assert time.monotonic() < deadline, f"never saw {text!r} on {page.url}"
        time.sleep(0.4)
        page.reload()


@dataclass(frozen=True)
class Journey:
    """What a resident who discovered and then erased everywhere can open (paths on `base`)."""

    base: str
    cookies: dict[str, str]
    slug: str
    discovery_path: str
    erasure_path: str
    receipt_path: str
    partner_link: str

    def browser_cookies(self) -> list[dict[str, str]]:
        return [{"name": k, "value": v, "url": self.base} for k, v in self.cookies.items()]


@dataclass
class Demo:
    """One `desk demo` for the whole test process: the page-test modules share it."""

    base: str
    directory: Path
    process: subprocess.Popen[str]
    staff: subprocess.Popen[str]
    journey_future: Future[Journey]

    def staff_ready(self) -> None:
        output = self.staff.communicate(timeout=60)[0]
        assert self.staff.returncode == 0, f"desk staff add failed: {output}"

    def journey(self) -> Journey:
        return self.journey_future.result(timeout=120)


_demo: Demo | None = None
_pool = ThreadPoolExecutor(max_workers=1)


def shared_demo() -> Demo:
    """Start the demo once (with a back-office agent and a resident's journey, in background)."""
    global _demo
    if _demo is not None:
        assert _demo.process.poll() is None, "the shared demo stopped"
        return _demo
    from tests.helpers import start_demo

    directory = Path(tempfile.mkdtemp(prefix="desk-pages-"))
    process, base = start_demo(directory, DESK_SIMULATED_DELAY="0.2")
    _demo = Demo(
        base=base,
        directory=directory,
        process=process,
        staff=_start_add_staff(directory),
        journey_future=_pool.submit(_walk_resident, base, RESIDENT),
    )
    atexit.register(_stop, _demo)
    return _demo


def _stop(demo: Demo) -> None:
    demo.process.send_signal(signal.SIGINT)
    try:
        demo.process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        demo.process.kill()
    shutil.rmtree(demo.directory, ignore_errors=True)


def _start_add_staff(directory: Path) -> subprocess.Popen[str]:
    """`desk staff add` on the demo's database (the demo's cwd is `directory`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL="sqlite://desk-demo.sqlite3", DESK_DATA_DIR=str(directory / "data")
    )
    return subprocess.Popen(
        [sys.executable, "-m", "desk.cli", "staff", "add", STAFF, "--role", "back_office"],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _walk_resident(base: str, email: str) -> Journey:
    """Log in, ask who holds data, erase everywhere, wait for a receipt: over plain HTTP."""
    with httpx.Client(base_url=base, timeout=10) as client:

        def post(path: str, data: dict[str, Any]) -> httpx.Response:
            token = client.cookies.get("csrftoken") or ""
            return client.post(path, data={"csrftoken": token, **data})

        client.get("/connexion")
        post("/connexion", {"email": email})
        link = mailbox_link(base, "/connexion/", to=email)
        client.get(link)
        assert post(link, {}).headers.get("location", "").endswith("/mon-espace")
        discovery = post("/mon-espace/demandes", {"kind": "discovery"}).headers["location"]
        # The six signatories of the demo that answer by themselves have answered.
        page = _poll(client, "/mon-espace", "6 signataires sur 11 ont répondu")
        slug = re.findall(r'href="(?:/mon-espace)?/signataires/([a-z0-9-]+)"', page)[0]
        confirm = client.get("/mon-espace/supprimer?tous=1").text
        signatories = re.findall(r'name="signatory" value="([^"]+)"', confirm)
        assert signatories, "nobody to erase at"
        key = re.search(r'name="submission_key" value="([^"]+)"', confirm)
        erasure = post(
            "/mon-espace/demandes",
            {"kind": "erasure", "signatory": signatories, "submission_key": key[1] if key else ""},
        ).headers["location"]
        page = _poll(client, erasure, 'href="/recus/')
        receipt = re.findall(r'href="(/recus/[^".]+)"', page)[0]
        cookies = {c.name: c.value or "" for c in client.cookies.jar}
    return Journey(
        base=base,
        cookies=cookies,
        slug=slug,
        discovery_path=httpx.URL(discovery).path,
        erasure_path=httpx.URL(erasure).path,
        receipt_path=receipt,
        partner_link=mailbox_link(base, "/partenaires/reponse/"),
    )


def _poll(client: httpx.Client, path: str, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(path).text
        if text in page:
            return page
        assert time.monotonic() < deadline, f"never saw {text!r} on {path}"
        time.sleep(0.3)
