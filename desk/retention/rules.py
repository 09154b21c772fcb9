"""How long the desk keeps what it knows about people: the one table of rules.

The same `RULES` drive the retention job (`run_retention`: the worker's periodic task and
`desk retention run`), the public register of the desk's own processing (/registre-du-guichet)
and docs/retention.md (a test checks the table there is `markdown_table()`). Change a duration
here and all three follow.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Q

from desk.core.i18n import Message
from desk.requests.models import AccessCopy
from desk.requests.queries import COPY_RETRY_WINDOW
from desk.settings import Settings

log = logging.getLogger("desk.retention")

ACCESS_COPY_MAX_AGE = timedelta(days=7)
LOGIN_CHALLENGE_MAX_AGE = timedelta(hours=24)
CLOSED_REQUEST_MONTHS = 12
INACTIVE_ACCOUNT_MONTHS = 24
DELETION_NOTICE = timedelta(days=30)
ASSISTED_CONTACT_MONTHS = 6
# The resident's page kept in a server's memory (desk.residents.pagecache), and the marks that
# say when it changed (kept far longer than a copy, so no copy outlives its marks).
PAGE_COPY_SECONDS = 120
PAGE_CHANGE_MINUTES = 60
# Session lengths are settings (desk.identity.sessions): the register shows their defaults.
_DEFAULTS = Settings()
# Rows changed per transaction: a run never holds locks for long, and a crash loses one batch.
BATCH = 200
# Seconds of closed-request reduction per periodic run, at most one batch more: the worker
# runs maintenance between jobs, so a backlog (a history never reduced) must not hold its
# jobs back for long. At 1,000-2,000 requests a second (bench/retention.py), a backlog of
# 500,000 goes in 25-50 runs (2-4 hours of 5-minute runs); `desk retention run` goes on
# until done.
REDUCTION_SECONDS_PER_RUN = 10.0


@dataclass(frozen=True)
class RetentionRule:
    key: str
    # The processing of the desk's register (desk.retention.register) this rule belongs to.
    processing: str
    what: Message
    duration: Message
    why: Message
    kept: Message


RULES: tuple[RetentionRule, ...] = (
    RetentionRule(
        key="login_link",
        processing="login",
        what=Message(
            "Lien de connexion envoyé par courriel (adresse électronique, empreinte du lien)"
        ),
        duration=Message(
            "Adresse effacée dès que le lien sert ; lien supprimé à son expiration "
            "(10 minutes), et au plus tard 24 heures après sa création"
        ),
        why=Message("Sécurité de la connexion : un lien ne sert qu'une fois, peu de temps."),
        kept=Message("Rien."),
    ),
    RetentionRule(
        key="session",
        processing="login",
        what=Message("Session de connexion (cookie aléatoire, date de dernière activité)"),
        duration=Message(
            "Supprimée à la déconnexion, après {idle} minutes sans activité, et au plus tard "
            "{resident} heures (résidents) ou {staff} heures (équipe) après la connexion",
            idle=_DEFAULTS.session_idle_timeout // 60,
            resident=_DEFAULTS.session_max_age // 3600,
            staff=_DEFAULTS.staff_session_max_age // 3600,
        ),
        why=Message("Sécurité : garder la personne connectée le temps de sa démarche."),
        kept=Message("Rien."),
    ),
    RetentionRule(
        key="inactive_account",
        processing="login",
        what=Message("Compte de résident (adresse électronique, langue, dates de connexion)"),
        duration=Message(
            "24 mois sans connexion et sans demande en cours : avertissement par courriel, "
            "puis suppression 30 jours plus tard sans nouvelle connexion"
        ),
        why=Message("Exécution du service demandé ; minimisation (RGPD, art. 5-1-c et 5-1-e)."),
        kept=Message(
            "Le pseudonyme aléatoire que portent les reçus, et les demandes closes réduites "
            "comme ci-dessous."
        ),
    ),
    RetentionRule(
        key="page_copy",
        processing="requests",
        what=Message(
            "Copie de votre page « Mon espace » dans la mémoire du serveur, et marques de "
            "changement de votre espace (numéro de compte, heure)"
        ),
        duration=Message(
            "Copie gardée {seconds} secondes au plus, jamais écrite sur disque ; marques "
            "supprimées après {minutes} minutes",
            seconds=PAGE_COPY_SECONDS,
            minutes=PAGE_CHANGE_MINUTES,
        ),
        why=Message("Afficher votre espace vite, et à jour dès qu'une demande change."),
        kept=Message("Rien."),
    ),
    RetentionRule(
        key="access_copy",
        processing="requests",
        what=Message("Copie de données envoyée par un signataire (fichier)"),
        duration=Message(
            "Effacée 15 minutes après sa première ouverture (le temps de reprendre un "
            "téléchargement interrompu, depuis le même navigateur), sinon 7 jours après son "
            "arrivée"
        ),
        why=Message("Transmettre la copie demandée (RGPD, art. 15), sans la garder."),
        kept=Message("Nom, taille et empreinte SHA-256 du fichier, dates d'envoi et de retrait."),
    ),
    RetentionRule(
        key="closed_request",
        processing="requests",
        what=Message(
            "Textes libres d'une demande close : question et réponse d'information, motif de "
            "prolongation, précision de refus, note de réponse, message d'erreur, nom du "
            "fichier de copie"
        ),
        duration=Message("12 mois après la dernière réponse à la demande"),
        why=Message(
            "Laisser le temps d'une réclamation ; au-delà, seuls les faits servent à rendre "
            "des comptes (RGPD, art. 5-2)."
        ),
        kept=Message(
            "Référence, type, signataires, dates, états, résultats codés, reçus signés et "
            "journal chaîné (chaque texte retiré y reste représenté par une empreinte salée "
            "qui ne révèle rien)."
        ),
    ),
    RetentionRule(
        key="assisted_contact",
        processing="mediation",
        what=Message("Nom et adresse postale d'une personne aidée sans adresse électronique"),
        duration=Message(
            "6 mois après la fin de la dernière demande et du dernier mandat de la personne"
        ),
        why=Message("Lui envoyer les réponses par courrier, le temps de ses demandes."),
        kept=Message("Rien qui nomme la personne : ses demandes ne portent qu'un identifiant."),
    ),
    RetentionRule(
        key="partner_credentials",
        processing="partners",
        what=Message("Secrets d'accès des signataires à l'API (gardés sous forme d'empreinte)"),
        duration=Message("Jusqu'à leur remplacement ou leur révocation"),
        why=Message("Sécurité des échanges avec les signataires (RGPD, art. 32)."),
        kept=Message("L'identifiant du client, que cite le journal des actions."),
    ),
    RetentionRule(
        key="audit_log",
        processing="audit",
        what=Message("Journal des actions (connexions, actions de l'équipe, purges, suppressions)"),
        duration=Message("Tant que le guichet fonctionne"),
        why=Message(
            "Prouver ce qui a été fait et détecter une modification (RGPD, art. 5-2 et 32) ; "
            "il ne contient que des identifiants, jamais de nom ni d'adresse."
        ),
        kept=Message(
            "Les identifiants ; après suppression d'un compte, ils ne désignent plus personne."
        ),
    ),
    RetentionRule(
        key="receipt",
        processing="requests",
        what=Message("Reçus signés de réponse (pseudonyme, signataire, résultat)"),
        duration=Message("Sans limite : c'est la preuve publique et vérifiable de la réponse"),
        why=Message("Charte éthique de la donnée : accusé de réception après suppression."),
        kept=Message("Le reçu entier ; il ne porte jamais d'adresse ni de nom."),
    ),
    RetentionRule(
        key="charter_suggestion",
        processing="charter",
        what=Message(
            "Proposition d'amélioration de la charte : son texte et, si vous l'avez donnée, "
            "votre adresse électronique"
        ),
        duration=Message(
            "Adresse effacée dès que le courriel annonçant la réponse du comité est parti, et au "
            "plus tard {days} jours après la proposition si le comité n'a pas répondu",
            days=365,
        ),
        why=Message("Vous prévenir de la réponse publique du comité, et rien d'autre."),
        kept=Message("Le texte, tel que le comité le publie (sans donnée personnelle)."),
    ),
    RetentionRule(
        key="impact_study",
        processing="charter",
        what=Message("Étude d'impact déposée en PDF par un signataire pour une déclaration"),
        duration=Message("Aussi longtemps que la déclaration, comme ses versions successives"),
        why=Message(
            "Transparence de la charte : chacun peut relire l'étude qui a justifié un traitement."
        ),
        kept=Message("Le document public entier."),
    ),
)


def rule(key: str) -> RetentionRule:
    return next(r for r in RULES if r.key == key)


def rules_for(processing: str) -> list[RetentionRule]:
    return [r for r in RULES if r.processing == processing]


def markdown_table(locale: str = "fr") -> str:
    """The durations table of docs/retention.md (English there: the docs are in English)."""
    lines = [
        "| data | how long | why | what is kept |",
        "|---|---|---|---|",
    ]
    for r in RULES:
        cells = [r.what, r.duration, r.why, r.kept]
        lines.append("| " + " | ".join(c.in_locale(locale) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# --- the job ---------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    """What one run changed (or, dry, would change): counts only, never who."""

    login_links_deleted: int = 0
    copies_emptied: int = 0
    contacts_deleted: int = 0
    requests_reduced: int = 0
    texts_removed: int = 0
    # Events written before free text was sealed: removing their text would break the chain.
    legacy_texts_kept: int = 0
    accounts_warned: int = 0
    warnings_withdrawn: int = 0
    accounts_deleted: int = 0
    accounts_anonymised: int = 0
    dry_run: bool = field(default=False)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "dry_run"}

    @property
    def changed(self) -> bool:
        return any(self.counts().values())


async def purge_access_copies(*, now: datetime, dry_run: bool = False) -> int:
    """Empty copies past their link's expiry, or older than the rule whatever the link said."""

    due = AccessCopy.filter(
        Q(expires_at__lt=now)
        | Q(created_at__lt=now - ACCESS_COPY_MAX_AGE)
        # Taken: kept only for the taking browser's short retry window.
        | Q(downloaded_at__lt=now - COPY_RETRY_WINDOW),
        deleted_at__isnull=True,
    )
    if dry_run:
        return await due.count()
    return int(await due.update(content=None, deleted_at=now) or 0)


if __name__ == "__main__":
    # Regenerates the table of docs/retention.md: python -m desk.retention.rules
    print(markdown_table("en"), end="")
