"""Check the installed packages against PyPI's advisory data (what pip-audit's PyPI service reads).

pip-audit cannot work from this project's build machines: only PyPI's project-level JSON
(`/pypi/<name>/json`) is reachable there, and its `vulnerabilities` list concerns the project's
*latest* release (the per-version endpoint pip-audit asks answers 404, and OSV is not
reachable). So this check reads that list for every installed package that is at its latest
release, and lists the others as not checkable here, with their latest version.

Usage (from the project root):
    .venv/bin/python tools/dependency_audit.py [--index https://pypi.org]

Exit status: 0 nothing known, 1 a checked package has a known (not withdrawn) vulnerability,
2 PyPI could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import httpx
from packaging.utils import canonicalize_name

PYPI = "https://pypi.org"
# The project itself is not on PyPI.
OWN = {"desk"}


@dataclass
class Report:
    checked: int = 0
    # (package, installed version, advisory id, fixed in)
    vulnerable: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (package, installed version, latest version)
    unchecked: list[tuple[str, str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class Unreachable(Exception):
    pass


def installed() -> dict[str, str]:
    """Installed distributions, by canonical name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonicalize_name(name) not in OWN:
            found[canonicalize_name(name)] = dist.version
    return found


def _project(client: httpx.Client, index: str, name: str) -> dict[str, Any] | None:
    try:
        response = client.get(f"{index.rstrip('/')}/pypi/{name}/json")
    except httpx.TransportError as exc:
        raise Unreachable(f"{index}: {type(exc).__name__}") from exc
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def audit(packages: dict[str, str], *, index: str = PYPI) -> Report:
    report = Report()
    with httpx.Client(timeout=20, follow_redirects=True) as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda n: (n, _project(client, index, n)), sorted(packages)))
    for name, project in answers:
        version = packages[name]
        if project is None:
            report.unknown.append(name)
            continue
        latest = str(project["info"]["version"])
        if latest != version:
            report.unchecked.append((name, version, latest))
            continue
        report.checked += 1
        for advisory in project.get("vulnerabilities") or []:
            if advisory.get("withdrawn"):
                continue
            fixed = ", ".join(advisory.get("fixed_in") or []) or "no fix yet"
            report.vulnerable.append((name, version, str(advisory.get("id")), fixed))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--index", default=PYPI)
    args = parser.parse_args(argv)
    try:
        report = audit(installed(), index=args.index)
    except Unreachable as exc:
        print(f"PyPI could not be reached ({exc}): nothing was checked.")
        return 2
    for name, version, advisory, fixed in report.vulnerable:
        print(f"VULNERABLE {name} {version}: {advisory} (fixed in {fixed})")
    for name, version, latest in report.unchecked:
        print(f"not checkable here: {name} {version} (latest {latest})")
    for name in report.unknown:
        print(f"not on the index: {name}")
    print(
        f"{report.checked} packages checked at their latest release, "
        f"{len(report.unchecked)} not checkable here, "
        f"{len(report.vulnerable)} known vulnerabilities"
    )
    return 1 if report.vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
