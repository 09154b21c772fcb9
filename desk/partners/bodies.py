"""The partner API's requests and answers as typed models (pydantic v2).

The same models check what partners send (`desk.web.validation.validated`), give the routes
their types, and are the schemas of the OpenAPI document (`desk.partners.openapi`), so the
documentation cannot drift from what is enforced.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from desk.requests import assurance
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import DENIAL_REASONS
from desk.web.limits import MAX_ROW_ID
from desk.web.validation import ApiBody, NotBlank, OmittableFields, omittable

MAX_ID = MAX_ROW_ID  # an id the database can hold
TEXT_MAX = 2000
# One item of a list (a category, a recipient, a legal basis): as on the HTML answer form.
ITEM_MAX = 200
# A declaration's code (registry.Declaration.code).
CODE_MAX = 64
LIST_MAX = 50
# The multipart "outcome" field: JSON text, bounded like any form field.
FORM_OUTCOME_MAX = 64 * 1024

STATES = [s.value for s in DeliveryState]
KINDS = [k.value for k in RequestKind]
IDENTITY_ASSURANCE = ["email_verified", "mediator_checked", "unverified"]

# --- requests ------------------------------------------------------------------------------

Item = Annotated[str, StringConstraints(max_length=ITEM_MAX)]
Note = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Code = Annotated[str, StringConstraints(max_length=CODE_MAX)]


def _said(description: str) -> Any:
    """A required text the person reads: not blank, at most TEXT_MAX characters."""
    return Field(min_length=1, max_length=TEXT_MAX, description=description)


def _not_bool(value: Any) -> Any:
    # Literal[1, 2] takes True for 1 (True == 1 in Python); JSON's true is no integer.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "not an integer")
    return value


class AcknowledgeBody(ApiBody):
    # Nothing to say. (Model docstrings would become the document's descriptions, which are
    # French: the models of the document say theirs in `json_schema_extra`.)
    model_config = ConfigDict(json_schema_extra={"description": "Corps vide ou {}."})


class ExtendBody(ApiBody):
    reason: Annotated[str, NotBlank] = _said(
        "Pourquoi il faut plus de temps ; la personne le lira."
    )
    extra_months: Annotated[Literal[1, 2], BeforeValidator(_not_bool)]


class NeedInfoBody(ApiBody):
    message: Annotated[str, NotBlank] = _said("La question posée à la personne, en mots simples.")
    # Optional: integrations written before it send no such field and keep the deadline.
    identity: bool = Field(
        default=False,
        description="true : la question porte sur l'identité de la personne (vous avez un doute "
        "raisonnable sur qui demande) ; le délai est suspendu jusqu'à sa réponse, puis "
        "reporté d'autant (lignes directrices 01/2022 du CEPD). false, par défaut : toute "
        "autre question ; le délai continue de courir.",
    )


class DenyBody(OmittableFields):
    reason: Literal[
        "no_match", "insuf_verification", "claim_not_covered", "legal_obligation", "other"
    ]
    detail: Note | None = omittable(
        description="Explication pour la personne (obligatoire avec le motif other)."
    )

    @classmethod
    def reasons(cls) -> tuple[str, ...]:
        return tuple(cls.model_json_schema()["properties"]["reason"]["enum"])


class KeptItem(OmittableFields):
    category: Item
    legal_basis: Item
    retention: Item | None = omittable()


class OutcomeBody(OmittableFields):
    # The answer's fields as sent; which ones a request kind needs is checked by
    # desk.requests.outcomes.validate (it returns the typed, stored outcome).

    model_config = ConfigDict(
        title="Outcome",
        json_schema_extra={
            "description": "La réponse, selon le type de demande. discovery : holds_data, "
            "declarations, categories, note ; access : holds_data, note (et le fichier "
            "« copy ») ; erasure : result (erased | nothing_held | partial), "
            "erased_categories, kept [{category, legal_basis, retention}], "
            "recipients_notified, note ; objection : result (stopped | nothing_held), note."
        },
    )

    holds_data: bool | None = omittable()
    declarations: list[Code] | None = omittable(max_length=LIST_MAX)
    categories: list[Item] | None = omittable(max_length=LIST_MAX)
    result: Literal["erased", "nothing_held", "partial", "stopped"] | None = omittable()
    erased_categories: list[Item] | None = omittable(max_length=LIST_MAX)
    kept: list[KeptItem] | None = omittable(max_length=LIST_MAX)
    recipients_notified: list[Item] | None = omittable(max_length=LIST_MAX)
    note: Note | None = omittable()

    def sent(self) -> dict[str, Any]:
        """The fields the partner sent, as plain JSON (what outcomes.validate reads)."""
        return self.model_dump(mode="json", exclude_unset=True)


class FulfilBody(ApiBody):
    outcome: OutcomeBody


class FulfilForm(ApiBody):
    # The multipart form of a fulfil with a copy attached (access requests).
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Réponse avec une copie jointe (demande access) : un champ outcome "
            "en JSON et un fichier copy."
        }
    )

    outcome: Annotated[str, StringConstraints(max_length=FORM_OUTCOME_MAX)] = Field(
        description="L'objet outcome, écrit en JSON."
    )
    # The file is read by Starlette's form parser, never by this model: only documented here.
    copy_: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "La copie des données : fichier JSON, CSV ou PDF.",
            }
        ),
    ] = omittable(alias="copy")


# --- answers -------------------------------------------------------------------------------

DateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
NullableText = Annotated[str | None, WithJsonSchema({"type": ["string", "null"]})]


def _enum(values: list[str], description: str = "") -> Any:
    extra: dict[str, Any] = {"enum": values}
    return Field(json_schema_extra=extra, description=description or None)


class _Answer(BaseModel):
    # The desk builds these from its own rows: `model_dump()` is the JSON the partner reads.
    model_config = ConfigDict(frozen=True)


class HistoryEntry(_Answer):
    at: DateTime
    actor: str = Field(description="Qui a agi : resident, partner:<client>…")
    action: str
    from_state: str
    to_state: str


class Scope(_Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une opposition ou un retrait de consentement qui ne vise qu'un "
            "traitement (une finalité) de votre organisme, et non tous."
        }
    )

    declaration: str = Field(description="Le code de la déclaration (traitement) visée.")
    title: str = Field(description="Son titre, tel que publié au registre.")
    purposes: str = Field(description="Ses finalités, telles que publiées au registre.")
    legal_basis: str
    ground: str = _enum(
        ["objection", "consent_withdrawal"],
        "objection : opposition au traitement (article 21 du RGPD) ; consent_withdrawal : "
        "retrait du consentement donné pour cette finalité (article 7, paragraphe 3).",
    )


class DeliverySummary(_Answer):
    id: int
    request_reference: str
    kind: str = _enum(KINDS)
    state: str = _enum(STATES)
    received_at: DateTime
    due_at: DateTime


class Delivery(_Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Une demande d'un habitant adressée à votre organisme (un « envoi »)."
        }
    )

    id: int
    request_reference: str
    kind: str = _enum(KINDS)
    state: str = _enum(STATES)
    identifiers: dict[str, str] = Field(
        description="Seulement les identifiants que votre organisme accepte."
    )
    identity_assurance: str = _enum(
        IDENTITY_ASSURANCE,
        "email_verified : la personne s'est connectée par un lien reçu à cette adresse ; "
        "mediator_checked : un médiateur a vérifié son identité en personne. Gardé pour les "
        "intégrations existantes : préférez assurance, plus précis.",
    )
    assurance: str = _enum(
        list(assurance.LEVELS),
        "Comment le guichet sait qui a déposé la demande. email : adresse électronique "
        "vérifiée (connexion par un lien reçu à cette adresse) ; franceconnect : identité "
        "vérifiée par FranceConnect ; in_person : identité vérifiée en personne par un "
        "médiateur d'un point d'aide numérique.",
    )
    assurance_label: str = Field(
        description="Le même niveau, en français, tel que le montre la page de réponse "
        "(par exemple « Identité vérifiée par FranceConnect »)."
    )
    received_at: DateTime
    due_at: DateTime
    extension_reason: NullableText
    info_request: NullableText
    info_identity: bool = Field(
        default=False, description="La question posée porte sur l'identité de la personne."
    )
    deadline_paused: bool = Field(
        default=False,
        description="Le délai est suspendu : une question sur l'identité attend la réponse de "
        "la personne ; due_at sera reporté d'autant.",
    )
    info_answer: NullableText
    outcome: Annotated[dict[str, Any] | None, WithJsonSchema({"type": ["object", "null"]})]
    denial_reason: NullableText
    denial_detail: NullableText
    completed_at: Annotated[
        str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})
    ]
    scope: Scope | None = Field(
        default=None,
        description="null : la demande vise tout votre organisme. Sinon, le seul traitement "
        "visé (opposition ou retrait du consentement pour une finalité).",
    )
    history: list[HistoryEntry]
    answer_url: Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]


class DeliveryList(_Answer):
    items: list[DeliverySummary]
    next_cursor: Annotated[
        str | None,
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "description": "À passer en paramètre cursor pour la page suivante ; "
                "null à la fin.",
            }
        ),
    ]


# Literal needs its values written out: they must stay the state machine's denial reasons.
if set(DenyBody.reasons()) != set(DENIAL_REASONS):  # pragma: no cover - a developer's slip
    raise RuntimeError("DenyBody.reason must list desk.requests.states.DENIAL_REASONS")
