"""Can a login form tell a known address from an unknown one by the time it takes to answer?

Run: .venv/bin/python bench/login_timing.py [--samples 200] [--postgres URL]

One `desk serve` process on loopback (no worker: the answer is what is measured, not the mail),
SQLite by default. For each form, requests alternate between a known and an unknown address,
each address used once (the per-address throttle never applies), one connection, one request
at a time, after a warm-up; rate limits are raised out of the way. Forms:

- `POST /equipe/connexion`: an active staff member's address vs an address nobody has;
- `POST /connexion`: a resident's address vs a new one;
- `POST /oauth/token`: a wrong secret for a client with two active secrets, a right secret
  for a client of an excluded signatory, vs an unknown client id.

Prints, for each case, the median, 10th and 90th percentiles and the mean (milliseconds), and
the ratio of medians to the unknown case. Nothing is asserted (issue 14, item 5: the tests
check that the work done is the same; this measures what that gives).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench import desk_setup  # noqa: E402
from bench.harness import (  # noqa: E402
    desk_command,
    desk_env,
    free_port,
    machine_facts,
    print_facts,
    process,
    sqlite_url,
)
from desk.db import connected  # noqa: E402
from desk.partners import clients  # noqa: E402
from desk.registry.models import CharterStatus, Signatory  # noqa: E402
from desk.residents.models import Resident  # noqa: E402
from desk.staff.services import add_staff  # noqa: E402

UNLIMITED = "1000000 per minute"
# Requests of each case sent first and not counted.
WARM_UP = 10


async def prepare(database_url: str, samples: int) -> dict[str, tuple[str, str]]:
    """Staff members and residents with known addresses; partner clients. Returns clients."""
    async with connected(database_url):
        await desk_setup.add_signatories(2)
        for n in range(samples):
            await add_staff(
                email=f"agent-{n}@guichet.exemple.invalid", display_name="Agent", role="admin"
            )
            await Resident.create(email=f"habitant-{n}@exemple.invalid", pseudonym=f"p{n:030d}")
        slugs = await Signatory.all().order_by("id").limit(2).values_list("slug", flat=True)
        two = await clients.create_client(slug=str(slugs[0]))
        await clients.rotate_secret(client_id=two.client_id)
        excluded = await clients.create_client(slug=str(slugs[1]))
        await Signatory.filter(slug=str(slugs[1])).update(charter_status=CharterStatus.EXCLUDED)
        return {
            "two_secrets": (two.client_id, two.client_secret),
            "excluded": (excluded.client_id, excluded.client_secret),
        }


def form_token(client: httpx.Client, path: str) -> str:
    client.get(path)
    return client.cookies.get("csrftoken") or ""


def measure(cases: dict[str, Callable[[int], httpx.Response]], samples: int) -> None:
    """Run each case `samples` times, interleaved; print the figures."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for n in range(WARM_UP + samples):
        for name, send in cases.items():
            started = time.perf_counter()
            response = send(n)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code >= 500:
                raise RuntimeError(f"{name}: {response.status_code}")
            if n >= WARM_UP:
                times[name].append(elapsed)
    reference = statistics.median(times[list(cases)[-1]])
    for name, values in times.items():
        deciles = statistics.quantiles(values, n=10)
        median = statistics.median(values)
        print(
            f"  {name:<44} median {median:7.2f} ms  p10 {deciles[0]:7.2f}  "
            f"p90 {deciles[-1]:7.2f}  mean {statistics.fmean(values):7.2f}  "
            f"× {median / reference:4.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres", help="an EMPTY PostgreSQL database URL (default: SQLite)")
    args = parser.parse_args()
    print_facts(machine_facts(args.postgres))
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        database_url = args.postgres or sqlite_url(work)
        env = desk_setup.settings_env(
            database_url=database_url,
            data_dir=work / "data",
            smtp_port=free_port(),
            base_url=base,
            DESK_RATE_LIMIT_LOGIN_PER_EMAIL=UNLIMITED,
            DESK_RATE_LIMIT_LOGIN_PER_IP=UNLIMITED,
            DESK_RATE_LIMIT_TOKEN_PER_CLIENT=UNLIMITED,
            DESK_RATE_LIMIT_TOKEN_PER_IP=UNLIMITED,
        )
        desk_setup.migrate(env)
        # Known addresses for the warm-up too.
        known_clients = asyncio.run(prepare(database_url, args.samples + WARM_UP))
        with (
            process(
                desk_command("serve", "--port", str(port)),
                env=desk_env(env),
                log=work / "serve.log",
                ready_url=base + "/",
            ),
            httpx.Client(base_url=base, timeout=30) as client,
        ):
            staff_token = form_token(client, "/equipe/connexion")

            def staff(address: str) -> Callable[[int], httpx.Response]:
                return lambda n: client.post(
                    "/equipe/connexion",
                    data={"csrftoken": staff_token, "email": address.format(n=n)},
                )

            print("Staff login form (POST /equipe/connexion):")
            measure(
                {
                    "known (active member)": staff("agent-{n}@guichet.exemple.invalid"),
                    "unknown": staff("inconnu-{n}@guichet.exemple.invalid"),
                },
                args.samples,
            )
            resident_token = form_token(client, "/connexion")

            def resident(address: str) -> Callable[[int], httpx.Response]:
                return lambda n: client.post(
                    "/connexion", data={"csrftoken": resident_token, "email": address.format(n=n)}
                )

            print("Resident login form (POST /connexion):")
            measure(
                {
                    "known (resident account)": resident("habitant-{n}@exemple.invalid"),
                    "unknown (new address)": resident("nouveau-{n}@exemple.invalid"),
                },
                args.samples,
            )

            def token(client_id: str, secret: str) -> Callable[[int], httpx.Response]:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                }
                return lambda _n: client.post("/oauth/token", data=form)

            two_id, _ = known_clients["two_secrets"]
            excluded_id, excluded_secret = known_clients["excluded"]
            print("Partner token endpoint (POST /oauth/token), all answered 401:")
            measure(
                {
                    "known client, two secrets, wrong secret": token(two_id, "faux"),
                    "known client, excluded, right secret": token(excluded_id, excluded_secret),
                    "unknown client id": token("inconnu-" + two_id[8:], "faux"),
                },
                max(20, args.samples // 4),  # scrypt: each answer costs tens of ms
            )


if __name__ == "__main__":
    main()
