"""JSON Schemas (2020-12) of the partner API's requests and answers.

The same dictionaries describe the API in the OpenAPI document and check what partners send
(`check`), so the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

from typing import Any

from desk.core.translatable import N_
from desk.requests import assurance
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import DENIAL_REASONS

Schema = dict[str, Any]

MAX_ID = 2**31 - 1
TEXT_MAX = 2000
# One item of a list (a category, a recipient, a legal basis): as on the HTML answer form.
ITEM_MAX = 200
# A declaration's code (registry.Declaration.code).
CODE_MAX = 64

DATE_TIME: Schema = {"type": "string", "format": "date-time"}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}

STATES = [s.value for s in DeliveryState]
KINDS = [k.value for k in RequestKind]
IDENTITY_ASSURANCE = ["email_verified", "mediator_checked", "unverified"]

HISTORY_ENTRY: Schema = {
    "type": "object",
    "required": ["at", "actor", "action", "from_state", "to_state"],
    "properties": {
        "at": DATE_TIME,
        "actor": {"type": "string", "description": "Qui a agi : resident, partner:<client>…"},
        "action": {"type": "string"},
        "from_state": {"type": "string"},
        "to_state": {"type": "string"},
    },
}

DELIVERY: Schema = {
    "type": "object",
    "description": "Une demande d'un habitant adressée à votre organisme (un « envoi »).",
    "required": [
        "id",
        "request_reference",
        "kind",
        "state",
        "identifiers",
        "identity_assurance",
        "assurance",
        "assurance_label",
        "received_at",
        "due_at",
        "extension_reason",
        "info_request",
        "info_answer",
        "outcome",
        "denial_reason",
        "denial_detail",
        "completed_at",
        "history",
        "answer_url",
    ],
    "properties": {
        "id": {"type": "integer"},
        "request_reference": {"type": "string"},
        "kind": {"type": "string", "enum": KINDS},
        "state": {"type": "string", "enum": STATES},
        "identifiers": {
            "type": "object",
            "description": "Seulement les identifiants que votre organisme accepte.",
            "additionalProperties": {"type": "string"},
        },
        "identity_assurance": {
            "type": "string",
            "enum": IDENTITY_ASSURANCE,
            "description": "email_verified : la personne s'est connectée par un lien reçu à "
            "cette adresse ; mediator_checked : un médiateur a vérifié son identité en personne. "
            "Gardé pour les intégrations existantes : préférez assurance, plus précis.",
        },
        "assurance": {
            "type": "string",
            "enum": list(assurance.LEVELS),
            "description": "Comment le guichet sait qui a déposé la demande. email : adresse "
            "électronique vérifiée (connexion par un lien reçu à cette adresse) ; franceconnect "
            ": identité vérifiée par FranceConnect ; in_person : identité vérifiée en personne "
            "par un médiateur d'un point d'aide numérique.",
        },
        "assurance_label": {
            "type": "string",
            "description": "Le même niveau, en français, tel que le montre la page de réponse "
            "(par exemple « Identité vérifiée par FranceConnect »).",
        },
        "received_at": DATE_TIME,
        "due_at": DATE_TIME,
        "extension_reason": NULLABLE_TEXT,
        "info_request": NULLABLE_TEXT,
        "info_answer": NULLABLE_TEXT,
        "outcome": {"type": ["object", "null"]},
        "denial_reason": {"type": ["string", "null"]},
        "denial_detail": NULLABLE_TEXT,
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "history": {"type": "array", "items": HISTORY_ENTRY},
        "answer_url": {"type": "string", "format": "uri"},
    },
}

DELIVERY_SUMMARY: Schema = {
    "type": "object",
    "required": ["id", "request_reference", "kind", "state", "received_at", "due_at"],
    "properties": {
        "id": {"type": "integer"},
        "request_reference": {"type": "string"},
        "kind": {"type": "string", "enum": KINDS},
        "state": {"type": "string", "enum": STATES},
        "received_at": DATE_TIME,
        "due_at": DATE_TIME,
    },
}

DELIVERY_LIST: Schema = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {
        "items": {"type": "array", "items": DELIVERY_SUMMARY},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "À passer en paramètre cursor pour la page suivante ; null à la fin.",
        },
    },
}

ACKNOWLEDGE_BODY: Schema = {"type": "object", "properties": {}}

EXTEND_BODY: Schema = {
    "type": "object",
    "required": ["reason", "extra_months"],
    "properties": {
        "reason": {
            "type": "string",
            "minLength": 1,
            "maxLength": TEXT_MAX,
            "description": "Pourquoi il faut plus de temps ; la personne le lira.",
        },
        "extra_months": {"type": "integer", "enum": [1, 2]},
    },
}

_ITEM: Schema = {"type": "string", "maxLength": ITEM_MAX}

OUTCOME: Schema = {
    "type": "object",
    "description": "La réponse, selon le type de demande. discovery : holds_data, declarations, "
    "categories, note ; access : holds_data, note (et le fichier « copy ») ; erasure : result "
    "(erased | nothing_held | partial), erased_categories, kept [{category, legal_basis, "
    "retention}], recipients_notified, note ; objection : result (stopped | nothing_held), note.",
    "properties": {
        "holds_data": {"type": "boolean"},
        "declarations": {
            "type": "array",
            "items": {"type": "string", "maxLength": CODE_MAX},
            "maxItems": 50,
        },
        "categories": {"type": "array", "items": _ITEM, "maxItems": 50},
        "result": {"type": "string", "enum": ["erased", "nothing_held", "partial", "stopped"]},
        "erased_categories": {"type": "array", "items": _ITEM, "maxItems": 50},
        "kept": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["category", "legal_basis"],
                "properties": {
                    "category": _ITEM,
                    "legal_basis": _ITEM,
                    "retention": _ITEM,
                },
            },
        },
        "recipients_notified": {"type": "array", "items": _ITEM, "maxItems": 50},
        "note": {"type": "string", "maxLength": TEXT_MAX},
    },
}

FULFIL_BODY: Schema = {
    "type": "object",
    "required": ["outcome"],
    "properties": {"outcome": OUTCOME},
}

FULFIL_MULTIPART: Schema = {
    "type": "object",
    "required": ["outcome"],
    "properties": {
        "outcome": {
            "type": "string",
            "maxLength": 64 * 1024,
            "description": "L'objet outcome, écrit en JSON.",
        },
        "copy": {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "description": "La copie des données : fichier JSON, CSV ou PDF.",
        },
    },
}

DENY_BODY: Schema = {
    "type": "object",
    "required": ["reason"],
    "properties": {
        "reason": {"type": "string", "enum": list(DENIAL_REASONS)},
        "detail": {
            "type": "string",
            "maxLength": TEXT_MAX,
            "description": "Explication pour la personne (obligatoire avec le motif other).",
        },
    },
}

NEED_INFO_BODY: Schema = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {
            "type": "string",
            "minLength": 1,
            "maxLength": TEXT_MAX,
            "description": "La question posée à la personne, en mots simples.",
        }
    },
}


# --- checking -------------------------------------------------------------------------------

MSG_TYPE = N_("Le champ « {field} » doit être {expected}.")
MSG_REQUIRED = N_("Le champ « {field} » est obligatoire.")
MSG_ENUM = N_("Le champ « {field} » doit valoir l'une de ces valeurs : {values}.")
MSG_TOO_SHORT = N_("Le champ « {field} » ne doit pas être vide.")
MSG_TOO_LONG = N_("Le champ « {field} » est trop long ({limit} caractères au plus).")
MSG_TOO_MANY = "Le champ « {field} » contient trop d'éléments ({limit} au plus)."
MSG_BODY_OBJECT = "Le corps de la demande doit être un objet JSON."

TYPE_WORDS = {
    "string": N_("un texte"),
    "integer": N_("un nombre entier"),
    "boolean": N_("true ou false"),
    "object": N_("un objet"),
    "array": N_("une liste"),
    "null": "null",
}


class SchemaError(ValueError):
    """What is wrong with a request body, in French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return value is None


def check(schema: Schema, value: Any, field: str = "") -> None:
    """Raise SchemaError when `value` breaks `schema` (the keywords these schemas use)."""
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_is(kind, value) for kind in allowed):
            if not field:
                raise SchemaError(MSG_BODY_OBJECT)
            expected = " ou ".join(TYPE_WORDS.get(kind, kind) for kind in allowed)
            raise SchemaError(MSG_TYPE.format(field=field, expected=expected))
    if "enum" in schema and value not in schema["enum"]:
        values = ", ".join(str(v) for v in schema["enum"])
        raise SchemaError(MSG_ENUM.format(field=field, values=values))
    if isinstance(value, str):
        if len(value.strip()) < schema.get("minLength", 0):
            raise SchemaError(MSG_TOO_SHORT.format(field=field))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(MSG_TOO_LONG.format(field=field, limit=schema["maxLength"]))
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(MSG_TOO_MANY.format(field=field, limit=schema["maxItems"]))
        for index, item in enumerate(value):
            check(schema.get("items", {}), item, f"{field}[{index}]")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaError(MSG_REQUIRED.format(field=_join(field, name)))
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                check(sub, value[name], _join(field, name))


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name
