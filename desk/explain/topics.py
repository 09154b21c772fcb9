"""The explanation sheets: which exist, their titles, and how the index groups them.

The text of each sheet is in templates/explain/<slug>.html (French through `_()`, like every
page); this module only lists them so routes, the index and links elsewhere agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from desk.core.translatable import N_

# slug → (title, one-sentence summary). Titles and summaries are French catalogue sources.
TOPICS: dict[str, tuple[str, str]] = {
    "donnee-personnelle": (
        N_("Qu'est-ce qu'une donnée personnelle ?"),
        N_("Toute information qui vous concerne, même sans votre nom."),
    ),
    "savoir-qui-detient": (
        "Savoir qui détient mes données",
        N_("Demander à chaque signataire s'il a des données sur vous, et lesquelles."),
    ),
    "copie": (
        N_("Obtenir une copie de mes données"),
        N_("Recevoir un fichier avec les données qu'un organisme détient sur vous."),
    ),
    "effacement": (
        "Supprimer mes données",
        N_("Faire effacer vos données, et recevoir la preuve de l'effacement."),
    ),
    "opposition": (
        N_("M'opposer à l'utilisation de mes données"),
        N_("Faire arrêter un usage de vos données, par exemple une lettre d'information."),
    ),
    "delais": (
        "Les délais de réponse",
        N_("Un mois pour répondre, trois au plus si l'organisme explique pourquoi."),
    ),
    "signataire": (
        "Qu'est-ce qu'un signataire ?",
        N_("Un organisme qui a signé la charte éthique de la donnée de Brest métropole."),
    ),
    "declaration": (
        "Qu'est-ce qu'une déclaration ?",
        N_("Ce qu'un signataire publie sur chaque usage qu'il fait de vos données."),
    ),
    "base-legale": (
        "Qu'est-ce qu'une base légale ?",
        N_("La raison, prévue par la loi, qui permet à un organisme d'utiliser vos données."),
    ),
    "conservation": (
        "Qu'est-ce que la durée de conservation ?",
        N_("Combien de temps un organisme garde vos données, et pourquoi."),
    ),
    "dpo": (
        "Qu'est-ce qu'un DPO (délégué à la protection des données) ?",
        N_("La personne chargée, dans chaque organisme, de veiller au respect de vos droits."),
    ),
    "recu": (
        "Qu'est-ce qu'un reçu ?",
        N_("La preuve signée de ce qu'un organisme a fait de votre demande."),
    ),
    "reclamation": (
        N_("Faire une réclamation"),
        N_("Que faire si un organisme ne répond pas, ou répond mal."),
    ),
}

# The index page: headings, and the sheets under each, in reading order.
GROUP_HEADINGS: tuple[str, ...] = (
    N_("Les bases"),
    "Vos droits",
    N_("Les mots du guichet"),
    N_("Si cela se passe mal"),
)
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    zip(
        GROUP_HEADINGS,
        (
            ("donnee-personnelle",),
            ("savoir-qui-detient", "copie", "effacement", "opposition", "delais"),
            ("signataire", "declaration", "base-legale", "conservation", "dpo", "recu"),
            ("reclamation",),
        ),
        strict=True,
    )
)

# "Voir aussi" at the bottom of each sheet.
RELATED: dict[str, tuple[str, ...]] = {
    "donnee-personnelle": ("savoir-qui-detient", "base-legale", "conservation"),
    "savoir-qui-detient": ("declaration", "copie", "delais"),
    "copie": ("savoir-qui-detient", "effacement", "delais"),
    "effacement": ("base-legale", "conservation", "recu"),
    "opposition": ("base-legale", "effacement", "recu"),
    "delais": ("reclamation", "recu"),
    "signataire": ("declaration", "dpo", "reclamation"),
    "declaration": ("base-legale", "conservation", "signataire"),
    "base-legale": ("declaration", "effacement", "opposition"),
    "conservation": ("base-legale", "effacement"),
    "dpo": ("signataire", "reclamation"),
    "recu": ("effacement", "reclamation"),
    "reclamation": ("delais", "dpo", "signataire"),
}


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    summary: str
    related: tuple[str, ...]

    @property
    def path(self) -> str:
        return topic_path(self.slug)


def topic_path(slug: str) -> str:
    """The sheet's address, e.g. topic_path("base-legale") → "/comprendre/base-legale"."""
    if slug not in TOPICS:
        raise KeyError(f"no explanation sheet named {slug!r}")
    return f"/comprendre/{slug}"


def get_topic(slug: str) -> Topic | None:
    if slug not in TOPICS:
        return None
    title, summary = TOPICS[slug]
    return Topic(slug=slug, title=title, summary=summary, related=RELATED.get(slug, ()))


def all_topics() -> list[Topic]:
    return [t for t in (get_topic(slug) for slug in TOPICS) if t is not None]


def grouped() -> list[tuple[str, list[Topic]]]:
    return [
        (heading, [t for t in (get_topic(slug) for slug in slugs) if t is not None])
        for heading, slugs in GROUPS
    ]
