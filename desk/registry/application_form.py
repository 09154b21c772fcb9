"""The "Rejoindre la charte" form: what it carries, and its checks (SIREN/SIRET in
desk.registry.siret).

Every error is a French sentence saying what to fix, by field name (desk.registry.joining
records a valid application).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from desk.core.emails import InvalidEmail, normalise_email
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.models import SignatoryKind
from desk.registry.siret import check_siret

NAME_MAX = 200
ADDRESS_MAX = 1000
WEBSITE_MAX = 300


class ApplicationInvalid(DeskError):
    """Form errors by field name, each a French sentence saying what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Le formulaire contient des erreurs : corrigez les champs signalés."))
        self.errors = errors


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
