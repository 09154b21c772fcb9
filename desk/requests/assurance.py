"""How sure the desk is of who filed a request (RightsRequest.assurance), in partners' words.

Partners decide from it whether to ask for more proof before answering: the GDPR lets them
ask only when they have reasonable doubts (Art. 12(6)).
"""

from __future__ import annotations

from desk.core.translatable import N_

EMAIL = "email"
FRANCECONNECT = "franceconnect"
IN_PERSON = "in_person"

# Weakest first.
LEVELS = (EMAIL, FRANCECONNECT, IN_PERSON)

ASSURANCE_LABELS = {
    EMAIL: N_("Adresse électronique vérifiée"),
    FRANCECONNECT: N_("Identité vérifiée par FranceConnect"),
    IN_PERSON: N_("Identité vérifiée en personne par un médiateur"),
}

ASSURANCE_EXPLANATIONS = {
    EMAIL: N_(
        "La personne s'est connectée avec un lien reçu à cette adresse : elle en a "
        "l'usage. Son nom n'a pas été vérifié."
    ),
    FRANCECONNECT: N_(
        "La personne s'est identifiée avec FranceConnect, le service de l'État "
        "(compte impots.gouv.fr, ameli.fr, Identité Numérique La Poste…)."
    ),
    IN_PERSON: N_(
        "Un médiateur d'un point d'aide numérique a vérifié son identité en sa "
        "présence (aucune copie de pièce d'identité n'est gardée)."
    ),
}


def label(level: str) -> str:
    return ASSURANCE_LABELS.get(level, ASSURANCE_LABELS[EMAIL])


def explanation(level: str) -> str:
    return ASSURANCE_EXPLANATIONS.get(level, ASSURANCE_EXPLANATIONS[EMAIL])


def of_request(*, assurance: str, filed_via: str) -> str:
    """The level a request carries. Assisted requests filed before the column existed read
    "email" (its default), yet every assisted filing follows an identity check in person."""
    if filed_via == "assisted":
        return IN_PERSON
    return assurance if assurance in LEVELS else EMAIL
