"""The legal bases of the GDPR (Art. 6(1)): their names and what each means for a person.

Declarations (registry), receipts and the explanations page all speak of them: the words sit
at the bottom so that none of those packages imports another for them.
"""

from __future__ import annotations

from desk.core.translatable import N_

LEGAL_BASIS_LABELS: dict[str, str] = {
    "legal_obligation": N_("obligation légale"),
    "public_task": N_("mission d'intérêt public"),
    "contract": N_("contrat"),
    "consent": N_("consentement"),
    "legitimate_interest": N_("intérêt légitime"),
    "vital_interest": N_("intérêts vitaux"),
}

# What each legal basis means for the resident, in plain words (GDPR Art. 6(1)).
LEGAL_BASIS_EXPLANATIONS: dict[str, str] = {
    "legal_obligation": N_(
        "Une loi oblige cet organisme à traiter ces données. Il ne peut pas les "
        "effacer avant la fin de la durée prévue par la loi."
    ),
    "public_task": N_(
        "Ces données servent à un service public que cet organisme assure. Vous pouvez "
        "vous opposer à leur usage si votre situation particulière le justifie."
    ),
    "contract": N_(
        "Ces données sont nécessaires au contrat que vous avez passé avec cet organisme "
        "(abonnement, bail, location…)."
    ),
    "consent": N_(
        "Vous avez donné votre accord. Vous pouvez le retirer à tout moment : les données "
        "ne sont alors plus utilisées."
    ),
    "legitimate_interest": N_(
        "L'organisme estime en avoir besoin pour son activité, sans que cela "
        "nuise à vos droits. Vous pouvez vous opposer à cet usage."
    ),
    "vital_interest": N_("Ces données servent à protéger la vie ou la santé d'une personne."),
}


def legal_basis_label(code: str) -> str:
    return LEGAL_BASIS_LABELS.get(code, code)
