"""The "Rejoindre la charte" form: what it carries, and its checks (SIREN/SIRET with their key).

Every error is a French sentence saying what to fix, by field name (desk.registry.joining
records a valid application).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.models import SignatoryKind
from desk.residents.services import InvalidEmail, normalise_email

NAME_MAX = 200
ADDRESS_MAX = 1000
WEBSITE_MAX = 300


class ApplicationInvalid(DeskError):
    """Form errors by field name, each a French sentence saying what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Le formulaire contient des erreurs : corrigez les champs signalés."))
        self.errors = errors


# --- SIREN / SIRET -------------------------------------------------------------------------------


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


# --- the application form -----------------------------------------------------------------------


@dataclass
class ApplicationForm:
    """What the public form carries, as typed (kept to fill the form again on an error)."""

    name: str = ""
    kind: str = ""
    siret: str = ""
    address: str = ""
    website: str = ""
    dpo_name: str = ""
    dpo_email: str = ""
    applicant_name: str = ""
    applicant_email: str = ""
    errors: dict[str, str] = field(default_factory=dict, init=False)


def validated(form: ApplicationForm) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, label in (("name", "organisation"), ("dpo_name", "dpo"), ("applicant_name", "you")):
        value = " ".join(getattr(form, name).split())
        if not value:
            errors[name] = {
                "organisation": N_("Indiquez le nom de l'organisation."),
                "dpo": N_("Indiquez le nom du délégué à la protection des données (DPO)."),
                "you": N_("Indiquez votre nom : le guichet vous répond personnellement."),
            }[label]
        elif len(value) > NAME_MAX:
            errors[name] = N_("Ce nom est trop long : 200 caractères au plus.")
        values[name] = value
    try:
        values["kind"] = SignatoryKind(form.kind)
    except ValueError:
        errors["kind"] = N_("Choisissez le type d'organisation dans la liste.")
    try:
        values["siret"] = check_siret(form.siret)
    except ValueError as exc:
        errors["siret"] = str(exc)
    address = form.address.strip()
    if not address:
        errors["address"] = N_("Indiquez l'adresse postale de l'organisation.")
    elif len(address) > ADDRESS_MAX:
        errors["address"] = N_("L'adresse est trop longue : 1 000 caractères au plus.")
    values["address"] = address
    website = form.website.strip()
    if website and (
        not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", website) or len(website) > WEBSITE_MAX
    ):
        errors["website"] = N_(
            "L'adresse du site doit commencer par https:// (par exemple https://exemple.fr)."
        )
    values["website"] = website
    for name, message in (
        ("dpo_email", N_("L'adresse du DPO n'est pas valide : elle ressemble à dpo@exemple.fr.")),
        (
            "applicant_email",
            N_("Votre adresse n'est pas valide : elle ressemble à prenom.nom@exemple.fr."),
        ),
    ):
        try:
            values[name] = normalise_email(getattr(form, name))
        except InvalidEmail:
            errors[name] = message
    if errors:
        raise ApplicationInvalid(errors)
    return values
