"""The charter itself on the desk: its version, its adoption, and a summary of its principles.

Not the official text: a faithful summary of what the desk implements, numbered as the charter
numbers the principles the desk's design cites (DESIGN.md, issue 16). The official text is
Brest métropole's; the page says so and never paraphrases it as law.
"""

from __future__ import annotations

from dataclasses import dataclass

from desk.core.translatable import N_
from desk.registry.joining import CHARTER_ADOPTED_ON, CURRENT_CHARTER_VERSION
from desk.registry.models import CharterStatus, Signatory


@dataclass(frozen=True)
class Principle:
    number: int | None
    title: str
    summary: str
    # Where the desk puts the principle to work, for the reader to check.
    on_the_desk: str
    link: str


PRINCIPLES: tuple[Principle, ...] = (
    Principle(
        2,
        N_("S'engager, et le démontrer"),
        N_(
            "Une organisation démontre sa capacité à respecter la charte avant de la signer. "
            "Celle qui ne tient pas ses engagements reçoit une série d'alertes avant une "
            "éventuelle exclusion."
        ),
        N_("Candidatures, statuts datés de chaque organisation, alertes et décisions du comité."),
        "/charte/rejoindre",
    ),
    Principle(
        3,
        N_("Rendre des comptes et permettre les recours"),
        N_(
            "Ce que font les signataires est public, et chacun peut saisir le comité d'éthique "
            "quand un signataire ne respecte pas ses droits."
        ),
        N_("Réclamations au comité d'éthique, suivies à chaque étape."),
        "/comprendre/reclamation",
    ),
    Principle(
        5,
        N_("Associer les habitants à l'évolution de la charte"),
        N_(
            "La charte a été écrite à partir des recommandations d'un jury citoyen ; les "
            "habitants sont consultés quand elle évolue."
        ),
        N_("Les versions de la charte et ce qui a changé sont publiés ici."),
        "/charte",
    ),
    Principle(
        6,
        N_("Dire à quoi les données ont servi"),
        N_("Chaque usage de données a un but ; le signataire rend compte de ce qu'il a permis."),
        N_("Chaque déclaration porte une courte déclaration annuelle de ses résultats."),
        "/signataires",
    ),
    Principle(
        7,
        N_("Publier qui détient quelles données"),
        N_(
            "Les signataires publient ce qu'ils font des données : finalités, base légale, "
            "données concernées, durée de conservation."
        ),
        N_("Le registre public des signataires et de leurs déclarations, avec leur historique."),
        "/signataires",
    ),
    Principle(
        8,
        N_("Publier avec qui les données sont partagées"),
        N_("Qui partage des données avec qui est public, y compris avec des non-signataires."),
        N_("Les destinataires de chaque déclaration et la carte des flux."),
        "/signataires/flux",
    ),
    Principle(
        9,
        N_("Expliquer les algorithmes"),
        N_(
            "Quand un algorithme prend ou prépare une décision, le signataire le dit et "
            "explique comment il fonctionne."
        ),
        N_(
            "Chaque déclaration dit s'il y a des décisions automatisées et comment elles "
            "sont expliquées."
        ),
        "/signataires",
    ),
    Principle(
        None,
        N_("Sobriété"),
        N_("Ne collecter et ne garder que les données nécessaires."),
        N_("Le guichet lui-même garde le moins possible, et le publie."),
        "/registre-du-guichet",
    ),
)


async def signed_versions() -> list[Signatory]:
    """Who signed which version of the charter (the signatories that signed, and still do)."""
    return list(
        await Signatory.filter(
            charter_status__in=[CharterStatus.SIGNED, CharterStatus.SUSPENDED]
        ).order_by("name")
    )


__all__ = ["CHARTER_ADOPTED_ON", "CURRENT_CHARTER_VERSION", "PRINCIPLES", "signed_versions"]
