"""SIREN and SIRET numbers, as an organisation types them on the "Rejoindre la charte" form:
normalised and checked (length, INSEE's check keys), or refused with a French message."""

from __future__ import annotations

import re

from desk.core.translatable import N_


def luhn_ok(number: str) -> bool:
    """The Luhn check INSEE uses for SIREN and SIRET numbers."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# La Poste's establishments share one SIREN; their SIRET keys follow another rule (INSEE):
# the sum of the digits is a multiple of 5.
LA_POSTE_SIREN = "356000000"


def check_siret(raw: str) -> str:
    """A SIREN (9 digits) or SIRET (14 digits) without spaces, or a French error message."""
    number = re.sub(r"[\s.\-]", "", raw or "")
    if not number:
        raise ValueError(N_("Indiquez le numéro SIREN (9 chiffres) ou SIRET (14 chiffres)."))
    if not (number.isascii() and number.isdigit()) or len(number) not in (9, 14):
        raise ValueError(
            N_(
                "Le numéro SIREN compte 9 chiffres, le SIRET 14 chiffres : vérifiez-le "
                "(par exemple 123 456 789 ou 123 456 789 00012)."
            )
        )
    if len(number) == 14 and number.startswith(LA_POSTE_SIREN):
        valid = sum(int(c) for c in number) % 5 == 0
    else:
        valid = luhn_ok(number)
    if not valid:
        raise ValueError(
            N_(
                "Ce numéro SIREN ou SIRET n'existe pas : un chiffre est sans doute mal recopié "
                "(sa clé de contrôle ne correspond pas). Vérifiez-le sur votre avis de situation "
                "INSEE."
            )
        )
    return number
