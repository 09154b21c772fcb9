"""Small builders for test data: `from tests.factories import make_signatory, make_resident`."""

from __future__ import annotations

import secrets
from datetime import date

from desk.registry.models import Declaration, Signatory, SignatoryKind
from desk.residents.models import Resident


async def make_signatory(
    slug: str = "eau-du-ponant",
    *,
    name: str | None = None,
    adapter: str = "email",
    kind: SignatoryKind = SignatoryKind.PUBLIC_OPERATOR,
    dpo_email: str | None = None,
    declarations: int = 1,
) -> Signatory:
    signatory = await Signatory.create(
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        kind=kind,
        signed_on=date(2023, 3, 15),
        description="Organisme de test.",
        dpo_email=dpo_email or f"dpo@{slug}.exemple.invalid",
        adapter=adapter,
    )
    for n in range(declarations):
        await Declaration.create(
            signatory=signatory,
            code=f"traitement-{n + 1}",
            title=f"Gestion des abonnés {n + 1}",
            purposes="Gérer les abonnements et la facturation.",
            legal_basis="contract",
            data_categories=["identité", "coordonnées", "consommation"],
            retention="5 ans après la fin du contrat",
            recipients=["Trésor public"],
            source="Vous, lors de l'abonnement",
        )
    return signatory


async def make_resident(email: str | None = "camille@exemple.invalid") -> Resident:
    return await Resident.create(email=email, pseudonym=secrets.token_hex(16))
