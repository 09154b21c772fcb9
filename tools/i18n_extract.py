"""List every French string a person can read through `_()`, for the English catalogue.

Sources, all merged into one sorted list of unique strings:

1. templates/**/*.html and *.txt: literal first arguments of `_(...)` calls, found by walking
   the Jinja syntax tree (nested calls such as `_("… {kind}", kind=_(x))` included).
2. desk/**/*.py and adapters/**/*.py: literal first arguments of `_()`, `gettext()` and
   `translate()` calls.
3. Values templates render through `_(variable)`: the label dictionaries, constants and
   label-returning functions named in LABEL_SOURCES / LABEL_FUNCTIONS below (imported, so a
   renamed dict fails loudly), the error messages error pages show through `_(detail)` (literal
   messages given to DeskError and its subclasses, or to HTTPException), and the flash
   messages stored in the session (`request.session["flash"] = "..."`).

Usage (from the project root):
    .venv/bin/python tools/i18n_extract.py            # every string, one per line
    .venv/bin/python tools/i18n_extract.py --missing  # strings the English catalogue lacks
    .venv/bin/python tools/i18n_extract.py --update-po   # add them to messages.po, msgstr ""
    .venv/bin/python tools/i18n_extract.py --write-po    # fold en*.json into messages.po
    .venv/bin/python tools/i18n_extract.py --dynamic  # `_(variable)` calls and f-string messages
    .venv/bin/python tools/i18n_extract.py --json     # {string: [where it was found]}
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import importlib
import inspect
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"
PYTHON_DIRS = (ROOT / "desk", ROOT / "adapters")
LOCALE_DIR = ROOT / "desk" / "web" / "locales"
TARGET_LOCALE = "en"
# The gettext catalogue translators edit (Poedit): msgid = French source, msgstr = English.
CATALOGUE = LOCALE_DIR / TARGET_LOCALE / "LC_MESSAGES" / "messages.po"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Dictionaries and constants whose values templates pass to `_()`, and where they are shown.
# (module, attribute): attribute may be dotted (Class.ATTR) or a glob over module names (REASON_*).
LABEL_SOURCES: tuple[tuple[str, str], ...] = (
    # charter/report*.html: alert steps and committee decisions; /bilan and /transparence errors
    ("desk.statistics.report", "LEVEL_LABELS"),
    ("desk.statistics.report", "DECISION_LABELS"),
    ("desk.statistics.routes", "YEAR_NOT_FOUND_FR"),
    # errors/error.html: _(title), _(detail)
    ("desk.web.errors", "TITLES_FR"),
    ("desk.web.errors", "DETAILS_FR"),
    # the CSRF refusal page (desk.web.errors.csrf_failed, translated before the app runs)
    ("desk.web.errors", "_CSRF_PAGES"),
    # public/signatories.html, public/signatory.html
    ("desk.registry.services", "KIND_LABELS"),
    ("desk.registry.services", "CHARTER_STATUS_LABELS"),
    ("desk.registry.services", "CHARTER_STATUS_EXPLANATIONS"),
    ("desk.registry.services", "LEGAL_BASIS_LABELS"),
    ("desk.registry.services", "LEGAL_BASIS_EXPLANATIONS"),
    ("desk.registry.services", "CHANNEL_LABELS"),
    ("desk.registry.services", "CHANNEL_FALLBACK"),
    # 404 detail of /signataires/<slug> and /recus/<id>
    ("desk.registry.routes", "NOT_FOUND_FR"),
    ("desk.receipts.routes", "NOT_FOUND_FR"),
    # explain/*.html: _(topic.title), _(topic.summary), _(heading); 404 detail of /comprendre/x
    ("desk.explain.topics", "TOPICS"),
    ("desk.explain.topics", "GROUP_HEADINGS"),
    ("desk.explain.routes", "NOT_FOUND_FR"),
    # resident/dashboard.html, resident/request.html, email/receipt, email/delivery_extended
    ("desk.residents.views", "STATE_LABELS"),
    ("desk.residents.views", "KIND_LABELS"),
    ("desk.residents.views", "ACTION_LABELS"),
    # answer_lines(): Message(DENIAL_LABELS…) values, translated through _(line)
    ("desk.residents.views", "DENIAL_LABELS"),
    ("desk.residents.views", "DENIAL_FALLBACK"),
    # resident/login.html _(error), resident/login_problem.html _(message)
    ("desk.residents.services", "LoginLinkError.MESSAGES"),
    # resident/franceconnect_problem.html _(message)
    ("desk.residents.franceconnect", "FranceConnectError.MESSAGES"),
    # partner/answer.html, email/partner_delivery: _(assurance_label), _(assurance_explanation)
    ("desk.requests.assurance", "ASSURANCE_LABELS"),
    ("desk.requests.assurance", "ASSURANCE_EXPLANATIONS"),
    # receipts/_details.html, receipts/receipt.html, receipts/verifier.html
    ("desk.receipts.verify", "KIND_FR"),
    ("desk.receipts.verify", "STATUS_FR"),
    ("desk.receipts.verify", "DENIAL_FR"),
    ("desk.receipts.verify", "ERASURE_RESULT_FR"),
    ("desk.receipts.verify", "OBJECTION_RESULT_FR"),
    ("desk.receipts.verify", "REASON_*"),
    # partner/answer.html errors (409 answers)
    ("desk.partners.services", "NOT_ALLOWED"),
    # staff/_bar.html, staff/home.html: _(role_label(...))
    ("desk.staff.routes", "ROLE_LABELS"),
    # backoffice/*.html: _(state_label(...))
    ("desk.backoffice.routes", "STATE_LABELS"),
    # mediation/*.html: _(identity_labels[...]); refusals shown through _(detail) / _(error)
    ("desk.mediation.services", "IDENTITY_LABELS"),
    ("desk.mediation.services", "NOT_YOURS"),
    ("desk.mediation.services", "NO_MANDATE"),
    ("desk.mediation.services", "SESSION_CLOSED"),
    ("desk.mediation.services", "PAPER_UNSIGNED"),
    ("desk.mediation.services", "KIND_OUTSIDE"),
    ("desk.mediation.services", "SIGNATORY_OUTSIDE"),
    ("desk.mediation.rules", "CONSENT_PENDING"),
    # mediation/consent.html: _(error) for a code refused or a code not sent
    ("desk.mediation.consent", "WRONG_CODE"),
    ("desk.mediation.consent", "MALFORMED_CODE"),
    ("desk.mediation.consent", "EXPIRED_CODE"),
    ("desk.mediation.consent", "NO_CODE"),
    ("desk.mediation.consent", "TOO_MANY_TRIES"),
    ("desk.mediation.consent", "TOO_MANY_CODES"),
    ("desk.mediation.consent", "SESSION_OVER"),
    # charter/*.html and email/alert_notice: alert levels, decisions, self-evaluation, refusals
    ("desk.charter.alerts", "LEVEL_LABELS"),
    ("desk.charter.alerts", "LEVEL_EXPLANATIONS"),
    ("desk.charter.alerts", "MSG_*"),
    ("desk.charter.committee", "OUTCOME_LABELS"),
    ("desk.charter.committee", "MSG_*"),
    ("desk.charter.complaints", "MSG_*"),
    ("desk.charter.selfeval", "QUESTION_LABELS"),
    ("desk.charter.selfeval", "ANSWER_LABELS"),
    ("desk.charter.selfeval", "MSG_*"),
    ("desk.charter.routes", "FLASH_*"),
    ("desk.charter.routes", "NOT_FOUND_FR"),
    ("desk.charter.routes", "SELF_EVAL_NOT_FOUND_FR"),
    ("desk.charter.api", "MSG_*"),
)

# Functions whose returned literal strings are labels rendered through `_()`: every string
# they return (or assign to a local they return) is collected from their source.
LABEL_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("desk.residents.views", "actor_label"),  # resident/request.html _(actor_label(...))
    ("desk.receipts.verify", "title_for"),  # receipts: _(view.title)
    ("desk.receipts.verify", "_summary"),  # receipts: _(view.summary)
    ("desk.receipts.verify", "describe"),  # kind_label fallback "Demande"
    ("desk.web.errors", "problem"),  # fallback title "Erreur"
    ("desk.web.errors", "error_page"),
    ("desk.web.errors", "http_exception"),
)

# Exception classes whose message (first argument) error pages show through `_(detail)`;
# subclasses found in the code are added automatically.
MESSAGE_EXCEPTIONS = frozenset({"DeskError"})
# HTTPException(status, detail): the detail is the second argument.
DETAIL_EXCEPTIONS = frozenset({"HTTPException"})
# Message("… {name}", name=…) (desk.core.i18n) builds a French sentence translated later.
TRANSLATE_CALLS = frozenset({"_", "gettext", "translate", "Message"})
FLASH_KEYS = frozenset({"flash"})


@dataclass
class Extraction:
    strings: dict[str, set[str]] = field(default_factory=dict)
    # Places where text reaches people but cannot be listed: `_(variable)` in templates
    # (informational) and f-string error messages (not translatable as written).
    dynamic: list[str] = field(default_factory=list)
    untranslatable: list[str] = field(default_factory=list)

    def add(self, text: str, where: str) -> None:
        if text.strip():
            self.strings.setdefault(text, set()).add(where)

    def sorted_strings(self) -> list[str]:
        return sorted(self.strings)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# --- templates -------------------------------------------------------------------------------


def template_files() -> list[Path]:
    return sorted(
        p for p in TEMPLATE_DIR.rglob("*") if p.is_file() and p.suffix in (".html", ".txt")
    )


def _jinja_environment() -> Any:
    from desk.web.templating import build_environment

    return build_environment()


def _extract_templates(result: Extraction) -> None:
    from jinja2 import nodes
    from jinja2.exceptions import TemplateSyntaxError

    env = _jinja_environment()
    for path in template_files():
        where = _rel(path)
        source = path.read_text(encoding="utf-8")
        try:
            tree = env.parse(source, name=path.name, filename=str(path))
        except TemplateSyntaxError as exc:
            # A template being written: fall back to a regex so its strings are still listed.
            result.dynamic.append(f"{where}:{exc.lineno}: syntax error ({exc.message}), regex used")
            for text in _regex_strings(source):
                result.add(text, where)
            continue
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "_"):
                continue
            if (
                call.args
                and isinstance(call.args[0], nodes.Const)
                and isinstance(call.args[0].value, str)
            ):
                result.add(call.args[0].value, f"{where}:{call.lineno}")
            elif call.args:
                result.dynamic.append(f"{where}:{call.lineno}: _({_jinja_expr(call.args[0])})")


def _jinja_expr(node: Any) -> str:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_jinja_expr(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_jinja_expr(node.node)}[…]"
    if isinstance(node, nodes.Call):
        return f"{_jinja_expr(node.node)}(…)"
    return type(node).__name__


def _regex_strings(source: str) -> Iterator[str]:
    import re

    pattern = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
    for match in pattern.finditer(source):
        raw = match.group(1) if match.group(1) is not None else match.group(2)
        yield raw.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


# --- Python sources --------------------------------------------------------------------------


def python_files() -> list[Path]:
    return sorted(p for d in PYTHON_DIRS if d.exists() for p in d.rglob("*.py"))


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal_strings(node: ast.AST | None) -> list[str]:
    """Strings a constant expression holds: a str, or the str values of a dict/tuple/list."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [s for v in node.values for s in _literal_strings(v)]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in _literal_strings(e)]
    return []


def _constants(body: Iterable[ast.stmt]) -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            found[stmt.target.id] = stmt.value
    return found


@dataclass
class _Module:
    path: Path
    tree: ast.Module
    constants: dict[str, ast.AST]


def _parse_modules() -> list[_Module]:
    modules = []
    for path in python_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError:
            continue  # a file being written; its strings are listed on the next run
        modules.append(_Module(path, tree, _constants(tree.body)))
    return modules


def _message_classes(modules: list[_Module]) -> tuple[set[str], set[str]]:
    """(DeskError and its subclasses, those of them whose first argument is the message).

    LoginLinkError("expired") takes a reason code, not a message: a subclass counts as taking
    a message only if it keeps the base's __init__ or hands its first parameter to super().
    """
    bases: dict[str, set[str]] = {}
    forwards: dict[str, bool | None] = {}  # None: no __init__ of its own
    for m in modules:
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = {n for n in (_call_name(b) for b in node.bases) if n}
            init = next(
                (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"),
                None,
            )
            forwards[node.name] = None if init is None else _forwards_first_parameter(init)
    family = set(MESSAGE_EXCEPTIONS)
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in family and parents & family:
                family.add(name)
                grew = True

    def takes_message(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in MESSAGE_EXCEPTIONS:
            return True
        if name in seen or forwards.get(name) is False:
            return False
        parents = [p for p in bases.get(name, set()) if p in family]
        return bool(parents) and all(takes_message(p, seen | {name}) for p in parents)

    return family, {name for name in family if takes_message(name)}


def _forwards_first_parameter(init: ast.FunctionDef) -> bool:
    params = [a.arg for a in init.args.args[1:]]
    if not params:
        return False
    for node in ast.walk(init):
        if isinstance(node, ast.Call) and _is_super(node.func) and node.args:
            first = node.args[0]
            return isinstance(first, ast.Name) and first.id == params[0]
    return False


class _PythonVisitor(ast.NodeVisitor):
    def __init__(
        self, module: _Module, family: set[str], messengers: set[str], result: Extraction
    ) -> None:
        self.module = module
        self.family = family
        self.messengers = messengers
        self.result = result
        self.classes: list[tuple[str, dict[str, ast.AST]]] = []

    def where(self, node: ast.AST) -> str:
        return f"{_rel(self.module.path)}:{getattr(node, 'lineno', 0)}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append((node.name, _constants(node.body)))
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node.func)
        if name in TRANSLATE_CALLS and isinstance(node.func, ast.Name) and node.args:
            for text in _literal_strings(node.args[0]):
                self.result.add(text, self.where(node))
        message: ast.expr | None = None
        if name in self.messengers:
            message = node.args[0] if node.args else _keyword(node, "message")
        elif name in DETAIL_EXCEPTIONS:
            message = node.args[1] if len(node.args) > 1 else _keyword(node, "detail")
        elif name == "__init__" and self._in_message_class() and _is_super(node.func):
            message = node.args[0] if node.args else _keyword(node, "message")
        if message is not None:
            self.collect(message)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and self._is_flash_key(target.slice):
                self.collect(node.value)
        self.generic_visit(node)

    def _is_flash_key(self, key: ast.AST) -> bool:
        if isinstance(key, ast.Name):
            key = self.module.constants.get(key.id, key)
        return isinstance(key, ast.Constant) and key.value in FLASH_KEYS

    def _in_message_class(self) -> bool:
        return bool(self.classes) and self.classes[-1][0] in self.family

    def collect(self, node: ast.AST) -> None:
        """Every translatable string an error message or flash expression can evaluate to."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                self.result.add(node.value, self.where(node))
        elif isinstance(node, ast.JoinedStr):
            self.result.untranslatable.append(
                f"{self.where(node)}: f-string message {ast.unparse(node)[:90]}…"
            )
        elif isinstance(node, ast.Name):
            value = self.module.constants.get(node.id)
            for text in _literal_strings(value):
                self.result.add(text, self.where(node))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("self", "cls") and self.classes:
                value = self.classes[-1][1].get(node.attr)
                for text in _literal_strings(value):
                    self.result.add(text, self.where(node))
        elif isinstance(node, ast.Subscript):
            self.collect(node.value)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                self.collect(node.func.value)  # NOT_ALLOWED.get(action, "…")
            for arg in node.args:
                self.collect(arg)
        elif isinstance(node, ast.IfExp):
            self.collect(node.body)
            self.collect(node.orelse)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self.collect(value)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _is_super(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and _call_name(func.value.func) == "super"
    )


def _extract_python(result: Extraction) -> None:
    modules = _parse_modules()
    family, messengers = _message_classes(modules)
    for module in modules:
        _PythonVisitor(module, family, messengers, result).visit(module.tree)


# --- label dictionaries and functions ----------------------------------------------------------


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _values(v)


def _extract_labels(result: Extraction) -> None:
    for module_name, attribute in LABEL_SOURCES:
        module = importlib.import_module(module_name)
        if any(ch in attribute for ch in "*?["):
            names = [n for n in vars(module) if fnmatch.fnmatchcase(n, attribute)]
            if not names:
                raise LookupError(f"{module_name} has no attribute matching {attribute}")
        else:
            names = [attribute]
        for name in names:
            value: Any = module
            for part in name.split("."):
                value = getattr(value, part)  # AttributeError: fix LABEL_SOURCES
            for text in _values(value):
                result.add(text, f"{module_name}.{name}")
    for module_name, function_name in LABEL_FUNCTIONS:
        function = getattr(importlib.import_module(module_name), function_name)
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        for node in ast.walk(tree):
            value_node: ast.AST | None = None
            if isinstance(node, ast.Return):
                value_node = node.value
            elif isinstance(node, ast.Assign):
                value_node = node.value
            elif (
                isinstance(node, ast.Call)
                and _call_name(node.func) == "get"
                and len(node.args) == 2
            ):
                value_node = node.args[1]  # LABELS.get(code, "fallback")
            if isinstance(value_node, ast.IfExp):
                candidates: list[ast.AST] = [value_node.body, value_node.orelse]
            elif isinstance(value_node, ast.BoolOp):
                candidates = list(value_node.values)
            else:
                candidates = [value_node] if value_node is not None else []
            for candidate in candidates:
                if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
                    result.add(candidate.value, f"{module_name}.{function_name}()")


# --- entry points ------------------------------------------------------------------------------


def extract_all() -> Extraction:
    result = Extraction()
    _extract_templates(result)
    _extract_python(result)
    _extract_labels(result)
    return result


def extract() -> list[str]:
    """Every French string shown through `_()`, sorted and unique."""
    return extract_all().sorted_strings()


def load_catalogue(path: Path = CATALOGUE) -> dict[str, str]:
    """The catalogue as the app reads it: the .po, with any en*.json beside it merged on top."""
    from desk.core.i18n import load_catalog

    return load_catalog(TARGET_LOCALE, path.parents[2])


def missing(strings: Iterable[str] | None = None, path: Path = CATALOGUE) -> list[str]:
    catalogue = load_catalogue(path)
    return [s for s in (extract() if strings is None else strings) if s not in catalogue]


def _brace_fields(text: str) -> bool:
    import string

    try:
        return any(name is not None for _, name, _, _ in string.Formatter().parse(text))
    except ValueError:
        return False


def _read_po(path: Path) -> Any:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    if not path.exists():
        return Catalog(
            locale=TARGET_LOCALE,
            domain="messages",
            project="desk",
            language_team="English",
            charset="utf-8",
            fuzzy=False,
        )
    with path.open("rb") as handle:
        return read_po(handle, locale=TARGET_LOCALE)


def _write_po(po: Any, path: Path) -> None:
    from babel.messages.pofile import write_po

    for message in po:
        if not message.id:
            continue
        # Our sources use str.format placeholders, never %-formatting: tell PO tools so.
        message.flags.discard("python-format")
        if isinstance(message.id, str) and _brace_fields(message.id):
            message.flags.add("python-brace-format")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, po, width=0, no_location=True, sort_output=True)


def update_po(strings: Iterable[str], path: Path = CATALOGUE) -> list[str]:
    """Add every extracted string the .po lacks, with an empty msgstr; returns those added."""
    po = _read_po(path)
    added = [text for text in strings if text not in po]
    for text in added:
        po.add(text, "")
    _write_po(po, path)
    return added


def fold_json(
    path: Path = CATALOGUE, *, only: Iterable[Path] | None = None, delete: bool = True
) -> list[Path]:
    """Move en*.json entries (all, or `only` those files) into the .po (JSON wins: it is
    newer), then delete the JSON files folded."""
    from desk.core.i18n import json_paths

    po = _read_po(path)
    everything = json_paths(TARGET_LOCALE, path.parents[2])
    wanted = {p.resolve() for p in only} if only is not None else None
    parts = [p for p in everything if wanted is None or p.resolve() in wanted]
    for part in parts:
        for source, english in json.loads(part.read_text(encoding="utf-8")).items():
            if source in po:
                if english:
                    po[source].string = english
                    po[source].flags.discard("fuzzy")
            else:
                po.add(source, english)
    _write_po(po, path)
    if delete:
        for part in parts:
            part.unlink()
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--missing", action="store_true", help="strings the English catalogue lacks")
    group.add_argument(
        "--dynamic", action="store_true", help="_(variable) calls, f-string messages"
    )
    group.add_argument("--json", action="store_true", help="strings with where they were found")
    group.add_argument(
        "--update-po",
        action="store_true",
        help="add the missing strings to messages.po with an empty msgstr (for Poedit)",
    )
    group.add_argument(
        "--write-po",
        nargs="*",
        metavar="JSON",
        help="fold en*.json (all, or the files named) into messages.po, then delete them",
    )
    args = parser.parse_args(argv)
    if args.write_po is not None:
        only = [Path(name) for name in args.write_po] if args.write_po else None
        for part in fold_json(only=only):
            print(f"folded {_rel(part)} into {_rel(CATALOGUE)}")
        return 0
    result = extract_all()
    if args.update_po:
        added = update_po(result.sorted_strings())
        print(f"{len(added)} new msgids in {_rel(CATALOGUE)}")
        return 0
    if args.json:
        data = {s: sorted(result.strings[s]) for s in result.sorted_strings()}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.dynamic:
        print("\n".join(["# _(variable) in templates", *result.dynamic]))
        print("\n".join(["# not translatable as written", *result.untranslatable]))
    elif args.missing:
        print("\n".join(missing(result.sorted_strings())))
    else:
        print("\n".join(result.sorted_strings()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
