"""The desk's own register of processing (GDPR Art. 30): /registre-du-guichet.

The desk asks signatories to publish what they do with data; it is a data controller too, and
publishes the same about itself. Durations are not written here: each processing lists the
retention rules (desk.retention.rules) that belong to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from desk.core.i18n import Message
from desk.retention.rules import RetentionRule, rules_for
from desk.web.templating import render


@dataclass(frozen=True)
class Processing:
    key: str
    name: Message
    purpose: Message
    legal_basis: Message
    data: Message
    recipients: Message

    @property
    def rules(self) -> list[RetentionRule]:
        return rules_for(self.key)


PROCESSINGS: tuple[Processing, ...] = (
    Processing(
        key="login",
        name=Message("Comptes et connexion"),
        purpose=Message(
            "Vous reconnaître pour que vous seul voyiez et suiviez vos demandes : lien de "
            "connexion par courriel ou FranceConnect, session, comptes de l'équipe."
        ),
        legal_basis=Message(
            "Mission d'intérêt public confiée au guichet par les signataires de la charte "
            "(RGPD, art. 6-1-e) ; sécurité du service (art. 32)."
        ),
        data=Message(
            "Adresse électronique, langue choisie, dates de connexion ; avec FranceConnect, "
            "l'identifiant technique qu'il transmet (jamais vos nom et prénom)."
        ),
        recipients=Message("Personne : ces données ne quittent pas le guichet."),
    ),
    Processing(
        key="requests",
        name=Message("Demandes d'exercice de vos droits"),
        purpose=Message(
            "Transmettre vos demandes (savoir, copie, effacement, opposition) aux signataires "
            "choisis, suivre leurs délais, vous remettre leurs réponses et un reçu signé."
        ),
        legal_basis=Message(
            "Mission d'intérêt public (RGPD, art. 6-1-e), à votre demande ; vos droits des "
            "articles 15 à 21."
        ),
        data=Message(
            "Type de demande, signataires choisis, identifiants que chaque signataire accepte "
            "(votre adresse électronique), échanges avec le signataire, copie de vos données "
            "le temps de la remettre, reçus."
        ),
        recipients=Message(
            "Les seuls signataires que vous choisissez, chacun pour sa part ; les reçus "
            "peuvent être vérifiés par quiconque, mais ne portent qu'un pseudonyme."
        ),
    ),
    Processing(
        key="mediation",
        name=Message("Accompagnement dans un point d'aide numérique"),
        purpose=Message(
            "Permettre à une personne éloignée du numérique de faire ses demandes avec un "
            "médiateur, et de recevoir les réponses par courrier."
        ),
        legal_basis=Message(
            "Mission d'intérêt public (RGPD, art. 6-1-e), avec un mandat signé par la personne."
        ),
        data=Message(
            "Nom et adresse postale si la personne n'a pas d'adresse électronique ; la façon "
            "dont son identité a été vérifiée (jamais de copie de pièce d'identité) ; le mandat."
        ),
        recipients=Message("Le médiateur qui accompagne la personne et les signataires choisis."),
    ),
    Processing(
        key="partners",
        name=Message("Échanges avec les signataires"),
        purpose=Message(
            "Authentifier les signataires qui répondent par l'API ou par lien signé, et leur "
            "envoyer les demandes par le canal qu'ils ont choisi."
        ),
        legal_basis=Message("Engagement des signataires dans la charte (RGPD, art. 6-1-e)."),
        data=Message(
            "Adresse du délégué à la protection des données de chaque signataire, identifiants "
            "d'accès (secrets gardés sous forme d'empreinte ou chiffrés)."
        ),
        recipients=Message("Chaque signataire pour ce qui le concerne."),
    ),
    Processing(
        key="statistics",
        name=Message("Statistiques et bilan de la charte"),
        purpose=Message(
            "Publier les délais de réponse de chaque signataire et le bilan annuel de la charte."
        ),
        legal_basis=Message(
            "Mission d'intérêt public (RGPD, art. 6-1-e) ; transparence de la charte."
        ),
        data=Message("Des nombres seulement : aucune donnée ne désigne une personne."),
        recipients=Message("Tout le monde (données ouvertes)."),
    ),
    Processing(
        key="charter",
        name=Message("Vie de la charte"),
        purpose=Message(
            "Tenir le registre public des signataires, recevoir les propositions d'amélioration "
            "de la charte et publier les réponses du comité d'éthique."
        ),
        legal_basis=Message(
            "Mission d'intérêt public (RGPD, art. 6-1-e) ; consultation des habitants sur "
            "l'évolution de la charte (principe 5)."
        ),
        data=Message(
            "Le texte des propositions et, si la personne la donne, une adresse électronique "
            "pour la prévenir de la réponse ; les documents publics des signataires."
        ),
        recipients=Message(
            "Le comité d'éthique pour les propositions ; tout le monde pour ce qui est publié."
        ),
    ),
    Processing(
        key="audit",
        name=Message("Journal des actions"),
        purpose=Message(
            "Garder la trace de qui a fait quoi (connexions, actions de l'équipe, purges) dans "
            "une chaîne d'empreintes signée, pour prouver ce qui a été fait et détecter toute "
            "modification."
        ),
        legal_basis=Message(
            "Obligation de rendre des comptes et de sécuriser le traitement (RGPD, art. 5-2 et 32)."
        ),
        data=Message("Identifiants techniques et dates ; jamais de nom ni d'adresse."),
        recipients=Message(
            "L'administration du guichet et, sur demande, le comité d'éthique ou la CNIL."
        ),
    ),
)


async def register_page(request: Request) -> Response:
    settings = request.app.state.settings
    return render(
        request,
        "public/desk_register.html",
        {"processings": PROCESSINGS, "dpo_contact": settings.dpo_contact},
    )
