"""A demo ethics committee, seated through the composition's own service (`desk seed`).

Invented people marked "(démo)": the demo must never present a real person as a member.
"""

from __future__ import annotations

from desk.charter.composition import add_seat
from desk.charter.models import CommitteeSeat

ACTOR = "system:seed"

# (name, college, office, mandate start): one or two a college, mandates from the charter's
# adoption (October 2022), as the real committee's would be.
DEMO_SEATS: tuple[tuple[str, str, str, str], ...] = (
    ("Anne Kerjean (démo)", "elected", "Vice-présidente au numérique", "2022-10-13"),
    ("Yann Le Bihan (démo)", "citizens", "Membre du jury citoyen de 2021", "2022-10-13"),
    ("Soizic Morvan (démo)", "citizens", "Habitante tirée au sort", "2022-10-13"),
    ("Pr Alain Guéguen (démo)", "experts", "Juriste, droit du numérique", "2022-10-13"),
    ("Maëlle Tanguy (démo)", "signatories", "DPO d'un signataire public", "2023-01-15"),
)


async def seed_committee() -> int:
    """Seat the demo members once; how many were added."""
    if await CommitteeSeat.exists():
        return 0
    for name, college, office, start in DEMO_SEATS:
        await add_seat(name=name, college=college, office=office, start=start, end="", actor=ACTOR)
    return len(DEMO_SEATS)
