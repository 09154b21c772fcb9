# ruff: noqa: E501  (data file: long French sentences read better unbroken)
"""The demo register: Brest-area charter signatories and what they declare.

Organisation names are those a Brest resident would expect; every contact address is
fictional (".exemple.invalid" never resolves), and the declarations are illustrative.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from desk.registry.models import SignatoryKind

# The register's organisations that are not signatories: the recipients the demo's declarations
# name ("organisation:<key>" in a declaration's recipient_refs; "signatory:<slug>" names a
# signatory of the list below). Public bodies under their own names; processors, insurers and
# contractors stay generic, as the demo's declarations describe them.
ORGANISATIONS: list[dict[str, str]] = [
    {
        "key": "antai",
        "name": "Agence nationale de traitement automatisé des infractions (ANTAI)",
        "kind": "public_body",
        "description": "Traite les forfaits post-stationnement et les amendes.",
    },
    {
        "key": "tresor-public",
        "name": "Trésor public (Direction générale des finances publiques)",
        "kind": "public_body",
        "description": "Recouvre les sommes dues aux collectivités, en cas d'impayé.",
    },
    {
        "key": "hebergeur-participation",
        "name": "Hébergeur de la plateforme de participation (sous-traitant)",
        "kind": "company",
        "description": "Héberge la plateforme de participation en ligne, sur instruction de la métropole.",
    },
    {
        "key": "insee",
        "name": "Institut national de la statistique et des études économiques (Insee)",
        "kind": "public_body",
        "description": "Reçoit les actes d'état civil pour les statistiques de population.",
    },
    {
        "key": "parquet-de-brest",
        "name": "Procureur de la République de Brest",
        "kind": "public_body",
        "description": "Contrôle l'état civil.",
    },
    {
        "key": "notaires-du-finistere",
        "name": "Notaires du Finistère",
        "kind": "company",
        "description": "Reçoivent des copies d'actes, sur demande justifiée.",
    },
    {
        "key": "ecoles-publiques-de-brest",
        "name": "Écoles publiques de Brest",
        "kind": "public_body",
        "description": "Accueillent les élèves inscrits par la ville.",
    },
    {
        "key": "caf-du-finistere",
        "name": "Caisse d'allocations familiales du Finistère (Caf)",
        "kind": "public_operator",
        "description": "Quotient familial, aides au logement et prestations familiales.",
    },
    {
        "key": "routeur-courriels",
        "name": "Prestataire d'envoi de courriels (sous-traitant)",
        "kind": "company",
        "description": "Envoie les lettres d'information, sur instruction de l'organisme qui l'emploie.",
    },
    {
        "key": "fsl-finistere",
        "name": "Fonds de solidarité pour le logement du Finistère",
        "kind": "public_body",
        "description": "Aide à payer les factures d'eau et d'énergie, à votre demande.",
    },
    {
        "key": "region-bretagne",
        "name": "Région Bretagne",
        "kind": "public_body",
        "description": "Organise la carte KorriGo commune aux réseaux de transport bretons.",
    },
    {
        "key": "sne-logement-social",
        "name": "Système national d'enregistrement des demandes de logement social",
        "kind": "public_body",
        "description": "Enregistre chaque demande de logement social et lui donne son numéro unique.",
    },
    {
        "key": "bailleurs-sociaux-finistere",
        "name": "Autres bailleurs sociaux du Finistère",
        "kind": "social_housing",
        "description": "Partagent les demandes de logement social du département.",
    },
    {
        "key": "prefecture-du-finistere",
        "name": "Préfecture du Finistère",
        "kind": "public_body",
        "description": "Services de l'État : contingent de logements, plans d'alerte.",
    },
    {
        "key": "entretien-logements",
        "name": "Entreprises d'entretien des logements (sous-traitants)",
        "kind": "company",
        "description": "Interviennent dans les logements, sur instruction de l'office.",
    },
    {
        "key": "institut-de-sondage",
        "name": "Institut de sondage (sous-traitant)",
        "kind": "company",
        "description": "Mène les enquêtes de satisfaction, sur instruction de l'office.",
    },
    {
        "key": "assureur-autopartage",
        "name": "Assureur de la flotte d'autopartage",
        "kind": "company",
        "description": "Assure les véhicules partagés.",
    },
    {
        "key": "prestataire-paiement",
        "name": "Prestataire de paiement (sous-traitant)",
        "kind": "company",
        "description": "Encaisse les paiements par carte.",
    },
    {
        "key": "police-gendarmerie",
        "name": "Police et gendarmerie nationales",
        "kind": "public_body",
        "description": "Reçoivent des données sur réquisition judiciaire.",
    },
    {
        "key": "assureur-associatif",
        "name": "Assureur associatif",
        "kind": "company",
        "description": "Assure les bénévoles des associations.",
    },
    {
        "key": "editeur-logiciel-bibliotheque",
        "name": "Éditeur du logiciel de bibliothèque (sous-traitant)",
        "kind": "company",
        "description": "Fournit et maintient le logiciel de prêt, sur instruction de la ville.",
    },
    {
        "key": "fournisseurs-ressources-numeriques",
        "name": "Fournisseurs de ressources numériques des médiathèques",
        "kind": "company",
        "description": "Ne reçoivent que votre numéro de lecteur.",
    },
    {
        "key": "departement-finistere",
        "name": "Conseil départemental du Finistère",
        "kind": "public_body",
        "description": "Aides sociales du département, avec votre accord.",
    },
]

SIGNATORIES: list[dict[str, Any]] = [
    {
        "slug": "brest-metropole",
        "name": "Brest métropole",
        "kind": SignatoryKind.PUBLIC_BODY,
        "signed_on": date(2022, 10, 13),
        "description": "La communauté des huit communes de la métropole : voirie, stationnement, "
        "déchèteries, eau, transports, participation des habitants.",
        "adapter": "email",
        "declarations": [
            {
                "code": "cartes-decheterie",
                "title": "Cartes d'accès aux déchèteries",
                "purposes": "Délivrer les cartes d'accès aux déchèteries et compter les passages, "
                "pour repérer les dépôts professionnels non déclarés.",
                "legal_basis": "public_task",
                "data_categories": [
                    "identité",
                    "adresse",
                    "numéro de carte",
                    "dates et heures de passage",
                ],
                "retention": "Pendant la validité de la carte, puis 1 an.",
                "recipient_refs": ["signatory:sotraval"],
                "source": "Vous, lors de la demande de carte ; les lecteurs de carte à l'entrée des déchèteries.",
            },
            {
                "code": "stationnement-residentiel",
                "title": "Abonnements de stationnement résidentiel",
                "purposes": "Délivrer les abonnements de stationnement aux habitants des zones payantes "
                "et vérifier leur validité lors des contrôles.",
                "legal_basis": "public_task",
                "data_categories": ["identité", "adresse", "plaque d'immatriculation", "paiements"],
                "retention": "Durée de l'abonnement, puis 5 ans pour les pièces comptables.",
                "recipient_refs": ["organisation:antai", "organisation:tresor-public"],
                "source": "Vous, lors de la souscription.",
            },
            {
                "code": "participation-en-ligne",
                "title": "Participation citoyenne en ligne",
                "purposes": "Vous permettre de donner votre avis lors des concertations et de suivre "
                "les projets de votre quartier.",
                "legal_basis": "consent",
                "data_categories": [
                    "pseudonyme",
                    "adresse électronique",
                    "quartier",
                    "contributions",
                ],
                "retention": "3 ans après la fin de la concertation.",
                "recipient_refs": ["organisation:hebergeur-participation"],
                "source": "Vous, lors de votre inscription.",
            },
        ],
    },
    {
        "slug": "ville-de-brest",
        "name": "Ville de Brest",
        "kind": SignatoryKind.PUBLIC_BODY,
        "signed_on": date(2022, 10, 13),
        "description": "La mairie : état civil, écoles, cantines, élections, vie des quartiers.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "etat-civil",
                "title": "État civil",
                "purposes": "Établir, conserver et délivrer les actes de naissance, de mariage et de décès.",
                "legal_basis": "legal_obligation",
                "data_categories": [
                    "identité",
                    "filiation",
                    "date et lieu de naissance",
                    "situation familiale",
                ],
                "retention": "75 à 100 ans selon l'acte, puis versement aux archives (Code du patrimoine).",
                "recipient_refs": [
                    "organisation:insee",
                    "organisation:parquet-de-brest",
                    "organisation:notaires-du-finistere",
                ],
                "source": "Vous, les maternités et hôpitaux, les officiers d'état civil.",
            },
            {
                "code": "inscriptions-scolaires",
                "title": "Inscriptions scolaires, cantine et garderie",
                "purposes": "Inscrire les enfants dans les écoles publiques, organiser la restauration "
                "scolaire et la garderie, et facturer selon le quotient familial.",
                "legal_basis": "public_task",
                "data_categories": [
                    "identité de l'enfant et des parents",
                    "adresse",
                    "quotient familial",
                    "allergies alimentaires",
                    "factures",
                ],
                "retention": "Pendant la scolarité de l'enfant dans une école publique de Brest, puis 2 ans.",
                "recipient_refs": [
                    "organisation:ecoles-publiques-de-brest",
                    "organisation:caf-du-finistere",
                    "organisation:tresor-public",
                ],
                "source": "Vous, lors de l'inscription ; la Caf pour le quotient familial.",
                "dpia_summary": "Les allergies sont des données de santé d'enfants : seules les équipes "
                "de restauration concernées les voient, les droits d'accès sont revus chaque année, "
                "et rien n'est envoyé hors de l'Union européenne.",
            },
            {
                "code": "lettre-information",
                "title": "Lettre d'information municipale",
                "purposes": "Vous envoyer les nouvelles de la ville et de votre quartier.",
                "legal_basis": "consent",
                "data_categories": ["adresse électronique", "centres d'intérêt choisis"],
                "retention": "Jusqu'à votre désinscription.",
                "recipient_refs": ["organisation:routeur-courriels"],
                "source": "Vous.",
            },
        ],
    },
    {
        "slug": "eau-du-ponant",
        "name": "Eau du Ponant",
        "kind": SignatoryKind.PUBLIC_OPERATOR,
        "signed_on": date(2022, 12, 6),
        "description": "La société publique locale qui produit et distribue l'eau potable et traite "
        "les eaux usées de la métropole.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "abonnes-eau",
                "title": "Gestion des abonnements à l'eau",
                "purposes": "Ouvrir et fermer les abonnements, relever les compteurs, facturer et "
                "encaisser, répondre à vos réclamations.",
                "legal_basis": "contract",
                "data_categories": [
                    "identité",
                    "adresse du logement",
                    "coordonnées",
                    "consommation d'eau",
                    "coordonnées bancaires",
                    "factures et paiements",
                ],
                "retention": "Durée du contrat, puis 5 ans ; pièces comptables 10 ans.",
                "recipient_refs": [
                    "signatory:brest-metropole",
                    "organisation:tresor-public",
                    "organisation:fsl-finistere",
                ],
                "source": "Vous, lors de l'abonnement ; votre compteur.",
            },
            {
                "code": "telereleve",
                "title": "Télérelevé des compteurs",
                "purposes": "Relever les compteurs à distance et vous prévenir en cas de fuite probable.",
                "legal_basis": "public_task",
                "data_categories": [
                    "numéro de compteur",
                    "index de consommation journaliers",
                    "alertes de fuite",
                ],
                "retention": "Index journaliers 2 ans ; index de facturation avec le contrat.",
                "recipient_refs": [],
                "source": "Votre compteur communicant.",
                "dpia_summary": "Analyse d'impact faite en 2023 : les index journaliers peuvent révéler "
                "des habitudes de vie. Ils sont regroupés par mois après 2 ans, et vous pouvez refuser "
                "l'alerte fuite.",
            },
        ],
    },
    {
        "slug": "bibus",
        "name": "Bibus",
        "kind": SignatoryKind.PUBLIC_OPERATOR,
        "signed_on": date(2023, 2, 14),
        "description": "Le réseau de transport en commun de la métropole : bus, tramway, téléphérique.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "titres-transport",
                "title": "Cartes et abonnements",
                "purposes": "Établir votre carte de transport, vendre et renouveler vos abonnements, "
                "appliquer les tarifs réduits.",
                "legal_basis": "contract",
                "data_categories": [
                    "identité",
                    "photo",
                    "date de naissance",
                    "adresse",
                    "justificatif de tarif réduit",
                    "paiements",
                ],
                "retention": "Durée de l'abonnement, puis 2 ans ; pièces comptables 10 ans.",
                "recipient_refs": ["signatory:brest-metropole", "organisation:region-bretagne"],
                "source": "Vous, en agence ou en ligne.",
            },
            {
                "code": "validations",
                "title": "Validations aux bornes",
                "purposes": "Lutter contre la fraude et mesurer la fréquentation des lignes.",
                "legal_basis": "legitimate_interest",
                "data_categories": ["numéro de carte", "date, heure et arrêt de validation"],
                "retention": "48 heures sous une forme liée à votre carte, puis rendues anonymes pour les statistiques.",
                "recipient_refs": ["signatory:brest-metropole"],
                "source": "Les bornes de validation.",
                "dpia_summary": "Les déplacements sont rendus anonymes sous 48 heures, comme le recommande "
                "la CNIL pour la billettique.",
            },
        ],
    },
    {
        "slug": "brest-metropole-habitat",
        "name": "Brest métropole habitat",
        "kind": SignatoryKind.SOCIAL_HOUSING,
        "signed_on": date(2023, 3, 21),
        "description": "L'office public de l'habitat : logements sociaux, attribution, entretien.",
        "adapter": "email",
        "declarations": [
            {
                "code": "demande-logement",
                "title": "Demande de logement social",
                "purposes": "Enregistrer et instruire votre demande de logement, la présenter en commission d'attribution.",
                "legal_basis": "legal_obligation",
                "data_categories": [
                    "identité",
                    "situation familiale",
                    "ressources",
                    "situation professionnelle",
                    "motif de la demande",
                ],
                "retention": "Pendant la demande, puis 1 an après l'attribution ou la radiation.",
                "recipient_refs": [
                    "organisation:sne-logement-social",
                    "organisation:bailleurs-sociaux-finistere",
                    "organisation:prefecture-du-finistere",
                ],
                "source": "Vous, par le formulaire national de demande.",
            },
            {
                "code": "gestion-locative",
                "title": "Gestion locative",
                "purposes": "Gérer votre bail, vos loyers, l'entretien de votre logement et vos demandes d'intervention.",
                "legal_basis": "contract",
                "data_categories": [
                    "identité des occupants",
                    "ressources",
                    "composition du foyer",
                    "loyers et paiements",
                    "demandes d'intervention",
                ],
                "retention": "Durée du bail, puis 5 ans.",
                "recipient_refs": [
                    "organisation:caf-du-finistere",
                    "organisation:entretien-logements",
                ],
                "source": "Vous ; la Caf pour l'aide au logement.",
            },
            {
                "code": "enquetes-satisfaction",
                "title": "Enquêtes de satisfaction",
                "purposes": "Mesurer votre satisfaction sur l'entretien et l'accueil.",
                "legal_basis": "legitimate_interest",
                "data_categories": ["coordonnées", "réponses à l'enquête"],
                "retention": "18 mois.",
                "recipient_refs": ["organisation:institut-de-sondage"],
                "source": "Le fichier des locataires.",
            },
        ],
    },
    {
        "slug": "sotraval",
        "name": "Sotraval",
        "kind": SignatoryKind.PUBLIC_OPERATOR,
        "signed_on": date(2023, 6, 8),
        "description": "La société d'économie mixte qui gère les déchèteries, la collecte des "
        "encombrants et la valorisation des déchets.",
        "adapter": "email",
        "declarations": [
            {
                "code": "encombrants",
                "title": "Collecte des encombrants sur rendez-vous",
                "purposes": "Prendre vos rendez-vous d'enlèvement d'encombrants et organiser les tournées.",
                "legal_basis": "public_task",
                "data_categories": ["identité", "adresse", "téléphone", "description des objets"],
                "retention": "1 an après la collecte.",
                "recipient_refs": ["signatory:brest-metropole"],
                "source": "Vous, lors de la prise de rendez-vous.",
            },
            {
                "code": "signalements",
                "title": "Réclamations et signalements",
                "purposes": "Traiter vos réclamations (bac non collecté, dépôt sauvage) et vous répondre.",
                "legal_basis": "public_task",
                "data_categories": [
                    "identité",
                    "coordonnées",
                    "adresse",
                    "contenu du signalement",
                    "photos",
                ],
                "retention": "3 ans.",
                "recipient_refs": ["signatory:brest-metropole"],
                "source": "Vous.",
            },
        ],
    },
    {
        "slug": "les-connectes-du-ponant",
        "name": "Les Connectés du Ponant",
        "kind": SignatoryKind.ASSOCIATION,
        "signed_on": date(2023, 9, 19),
        "description": "Association d'aide au numérique : ateliers, permanences dans les quartiers, "
        "accompagnement aux démarches en ligne.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "accompagnement",
                "title": "Accompagnement aux démarches en ligne",
                "purposes": "Vous aider dans vos démarches et suivre votre progression d'un rendez-vous à l'autre.",
                "legal_basis": "consent",
                "data_categories": [
                    "identité",
                    "coordonnées",
                    "démarches accompagnées",
                    "aisance avec le numérique",
                ],
                "retention": "2 ans après le dernier rendez-vous.",
                "recipient_refs": ["signatory:brest-metropole"],
                "source": "Vous, au premier rendez-vous.",
            },
            {
                "code": "adhesions",
                "title": "Adhésions",
                "purposes": "Gérer les adhésions et les cotisations, convoquer l'assemblée générale.",
                "legal_basis": "contract",
                "data_categories": ["identité", "coordonnées", "cotisations"],
                "retention": "Durée de l'adhésion, puis 3 ans.",
                "recipient_refs": [],
                "source": "Vous.",
            },
        ],
    },
    {
        "slug": "ponant-autopartage",
        "name": "Ponant Autopartage",
        "kind": SignatoryKind.COMPANY,
        "signed_on": date(2024, 1, 30),
        "description": "Entreprise locale de voitures en libre-service, réservables à l'heure.",
        "adapter": "email",
        "declarations": [
            {
                "code": "abonnes",
                "title": "Abonnements et locations",
                "purposes": "Gérer votre abonnement, vos réservations et vos factures.",
                "legal_basis": "contract",
                "data_categories": [
                    "identité",
                    "coordonnées",
                    "numéro et validité du permis de conduire",
                    "coordonnées bancaires",
                    "réservations",
                ],
                "retention": "Durée du contrat, puis 5 ans ; factures 10 ans.",
                "recipient_refs": [
                    "organisation:assureur-autopartage",
                    "organisation:prestataire-paiement",
                    "organisation:police-gendarmerie",
                ],
                "source": "Vous, à l'inscription.",
            },
            {
                "code": "geolocalisation",
                "title": "Localisation des véhicules",
                "purposes": "Retrouver un véhicule volé ou en panne, et vérifier les trajets en cas d'accident.",
                "legal_basis": "legitimate_interest",
                "data_categories": [
                    "position du véhicule pendant la location",
                    "kilométrage",
                    "horaires",
                ],
                "retention": "Position : 30 jours ; trajets facturés : avec la facture.",
                "recipient_refs": ["organisation:assureur-autopartage"],
                "source": "Le boîtier du véhicule.",
                "dpia_summary": "La position n'est consultée qu'en cas de vol, d'accident ou de panne ; "
                "personne ne suit les conducteurs en continu.",
            },
            {
                "code": "lettre-commerciale",
                "title": "Offres et nouveautés",
                "purposes": "Vous envoyer nos offres, si vous l'avez demandé.",
                "legal_basis": "consent",
                "data_categories": ["adresse électronique"],
                "retention": "3 ans sans nouvelles de votre part.",
                "recipient_refs": ["organisation:routeur-courriels"],
                "source": "Vous.",
            },
        ],
    },
    {
        "slug": "recyclerie-du-ponant",
        "name": "Recyclerie du Ponant",
        "kind": SignatoryKind.ASSOCIATION,
        "signed_on": date(2024, 5, 15),
        "description": "Association de réemploi : boutique solidaire et ateliers de réparation.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "benevoles",
                "title": "Bénévoles",
                "purposes": "Organiser les équipes de bénévoles et les plannings.",
                "legal_basis": "legitimate_interest",
                "data_categories": ["identité", "coordonnées", "disponibilités", "savoir-faire"],
                "retention": "2 ans après la dernière participation.",
                "recipient_refs": ["organisation:assureur-associatif"],
                "source": "Vous.",
            },
            {
                "code": "ateliers-reparation",
                "title": "Inscriptions aux ateliers de réparation",
                "purposes": "Vous inscrire à un atelier et vous prévenir en cas de changement.",
                "legal_basis": "consent",
                "data_categories": ["identité", "coordonnées", "objet à réparer"],
                "retention": "1 an.",
                "recipient_refs": [],
                "source": "Vous.",
            },
        ],
    },
    {
        "slug": "mediatheques-de-brest",
        "name": "Réseau des médiathèques de Brest",
        "kind": SignatoryKind.PUBLIC_BODY,
        "signed_on": date(2024, 9, 10),
        "description": "Les médiathèques de la ville : prêt de livres, films, musique et ressources en ligne.",
        "adapter": "simulated",
        "declarations": [
            {
                "code": "lecteurs",
                "title": "Inscription et prêts",
                "purposes": "Gérer votre carte de lecteur, vos prêts, réservations et retards.",
                "legal_basis": "public_task",
                "data_categories": [
                    "identité",
                    "date de naissance",
                    "coordonnées",
                    "prêts en cours",
                    "retards",
                ],
                "retention": "Historique des prêts effacé 4 mois après le retour ; inscription gardée 1 an après son expiration.",
                "recipient_refs": [
                    "organisation:editeur-logiciel-bibliotheque",
                    "organisation:tresor-public",
                ],
                "source": "Vous, lors de l'inscription.",
            },
            {
                "code": "ressources-numeriques",
                "title": "Ressources numériques",
                "purposes": "Vous donner accès à la presse, aux films et aux cours en ligne.",
                "legal_basis": "public_task",
                "data_categories": [
                    "numéro de lecteur",
                    "adresse électronique",
                    "ressources consultées",
                ],
                "retention": "Durée de l'inscription.",
                "recipient_refs": ["organisation:fournisseurs-ressources-numeriques"],
                "source": "Vous ; les plateformes de ressources.",
            },
        ],
    },
    {
        "slug": "ccas-de-brest",
        "name": "Centre communal d'action sociale de Brest (CCAS)",
        "kind": SignatoryKind.PUBLIC_BODY,
        "signed_on": date(2025, 2, 4),
        "description": "Aides sociales de la ville, accompagnement des personnes âgées et des personnes isolées.",
        "adapter": "email",
        "declarations": [
            {
                "code": "aides-facultatives",
                "title": "Aides sociales de la ville",
                "purposes": "Étudier vos demandes d'aide (alimentaire, énergie, transport) et les verser.",
                "legal_basis": "public_task",
                "data_categories": [
                    "identité",
                    "composition du foyer",
                    "ressources",
                    "situation sociale",
                    "aides accordées",
                ],
                "retention": "5 ans après la dernière aide.",
                "recipient_refs": [
                    "organisation:departement-finistere",
                    "organisation:caf-du-finistere",
                    "organisation:tresor-public",
                ],
                "source": "Vous, lors d'un rendez-vous ; les travailleurs sociaux qui vous suivent.",
                "dpia_summary": "Données sur la situation sociale : seuls les agents qui instruisent "
                "les demandes y ont accès, chaque consultation est enregistrée, analyse d'impact "
                "mise à jour en 2024.",
            },
            {
                "code": "registre-vulnerables",
                "title": "Registre des personnes vulnérables (canicule, grand froid)",
                "purposes": "Prendre de vos nouvelles et vous aider pendant une canicule ou un grand froid.",
                "legal_basis": "legal_obligation",
                "data_categories": [
                    "identité",
                    "âge",
                    "adresse",
                    "téléphone",
                    "personne à prévenir",
                    "situation de handicap",
                ],
                "retention": "Jusqu'à votre demande de radiation.",
                "recipient_refs": ["organisation:prefecture-du-finistere"],
                "source": "Vous, ou un proche avec votre accord.",
            },
        ],
    },
]
