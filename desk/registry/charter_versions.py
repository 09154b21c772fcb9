"""The charter's text as data: its eleven principles and its versions, each with what changed.

The wording here is the desk's faithful rendering of the charter Brest métropole and the city
of Brest adopted in October 2022, written from the recommendations of a citizens' jury (a
consensus conference of twenty residents drawn by lot, autumn 2021). The official text is
Brest métropole's: the page says so and links to it. A new version is one more `CharterVersion`
at the head of VERSIONS, with its principles and what changed; organisations then sign it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from desk.core.translatable import N_

OFFICIAL_TEXT_URL = "https://www.brest.fr/"


@dataclass(frozen=True)
class Principle:
    number: int
    title: str
    text: str
    # Where the desk puts the principle to work, for the reader to check ("" where it does not).
    on_the_desk: str = ""
    link: str = ""


@dataclass(frozen=True)
class CharterVersion:
    number: str
    title: str
    # The day it was adopted; None for a text that was never in force (a draft).
    adopted_on: date | None
    in_force: bool
    # What changed from the version before, one sentence each.
    changes: tuple[str, ...]


PRINCIPLES: tuple[Principle, ...] = (
    Principle(
        1,
        N_("Servir l'intérêt général"),
        N_(
            "Les données produites dans le cadre d'un service public ou d'une mission d'intérêt "
            "général servent d'abord les habitants et le territoire. Elles ne sont ni vendues "
            "ni utilisées contre les personnes qu'elles concernent."
        ),
    ),
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
            "quand un signataire ne respecte pas ses droits. Le comité répond et rend ses "
            "décisions publiques."
        ),
        N_("Réclamations au comité d'éthique, suivies à chaque étape, et ses décisions."),
        "/charte/comite",
    ),
    Principle(
        4,
        N_("Protéger les personnes"),
        N_(
            "Les données personnelles sont protégées : sécurisées, hébergées de façon maîtrisée, "
            "anonymisées dès qu'elles sont partagées ou réutilisées, et chacun peut exercer "
            "facilement ses droits."
        ),
        N_("Voir, copier et effacer ses données, avec un reçu signé après suppression."),
        "/",
    ),
    Principle(
        5,
        N_("Associer les habitants à l'évolution de la charte"),
        N_(
            "La charte a été écrite à partir des recommandations d'un jury citoyen ; les "
            "habitants sont consultés quand elle évolue."
        ),
        N_("Chacun peut proposer une amélioration ; le comité répond publiquement."),
        "/charte/ameliorations",
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
        10,
        N_("Sobriété"),
        N_(
            "Ne collecter et ne garder que les données nécessaires, le temps nécessaire, et "
            "limiter l'empreinte environnementale de leur traitement."
        ),
        N_("Le guichet lui-même garde le moins possible, et le publie."),
        "/registre-du-guichet",
    ),
    Principle(
        11,
        N_("N'oublier personne"),
        N_(
            "Sensibiliser les habitants à leurs données et à leurs droits, et accompagner ceux "
            "qui sont éloignés du numérique pour qu'ils puissent les exercer."
        ),
        N_("Les médiateurs des points d'aide numérique déposent les demandes avec les habitants."),
        "/comprendre",
    ),
)

VERSIONS: tuple[CharterVersion, ...] = (
    CharterVersion(
        "2022-10",
        N_("Charte éthique de la donnée adoptée"),
        date(2022, 10, 13),
        True,
        (
            N_(
                "Texte adopté par le conseil municipal de Brest et le conseil de Brest métropole, "
                "après la consultation publique du projet."
            ),
            N_(
                "Les avis recueillis pendant la consultation ont été pris en compte dans le texte "
                "définitif."
            ),
        ),
    ),
    CharterVersion(
        "2022-06",
        N_("Projet de charte soumis à consultation publique"),
        None,
        False,
        (
            N_(
                "Premier texte de la charte, rédigé à partir des recommandations du jury "
                "citoyen, soumis à l'avis des habitants du 20 juin au 10 juillet 2022."
            ),
        ),
    ),
    CharterVersion(
        "2021-12",
        N_("Recommandations du jury citoyen"),
        None,
        False,
        (
            N_(
                "Vingt habitants tirés au sort, réunis en conférence de consensus d'octobre à "
                "décembre 2021, écrivent les recommandations dont la charte est issue."
            ),
        ),
    ),
)

CURRENT: CharterVersion = next(v for v in VERSIONS if v.in_force)
SIGNABLE: frozenset[str] = frozenset(v.number for v in VERSIONS if v.in_force)


def version(number: str) -> CharterVersion | None:
    return next((v for v in VERSIONS if v.number == number), None)
