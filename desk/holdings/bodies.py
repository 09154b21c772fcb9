"""The holdings and lineage API's bodies and answers as typed models: the schemas of the
OpenAPI document (desk.partners.openapi).

A body is checked by holdings/rules.py first, whose refusals name the element at fault by its
position ("holdings[3] (élément n° 4)") and answer 413 past the item limits, and whose rules
go beyond a schema (one element per person, no date in the future); then by its model, so
nothing the document refuses gets through (desk.web.validation words what rules.py did not).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from desk.holdings import hashing
from desk.holdings.rules import (
    MAX_CATEGORY,
    MAX_DECLARATIONS_PER_HOLDING,
    MAX_EVENTS,
    MAX_HOLDINGS,
    MAX_PURPOSE,
    MAX_RECIPIENT,
)
from desk.web.validation import ApiBody

SubjectHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class _Body(ApiBody):
    # As rules.py: no field beyond those listed.
    model_config = ConfigDict(extra="forbid")


class Holding(_Body):
    hash: SubjectHash = Field(
        description="HMAC-SHA256 (hexadécimal) de l'identifiant normalisé, avec la clé de "
        "/api/v1/hashing-key."
    )
    kind: Literal["email", "phone"]
    declarations: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list,
        max_length=MAX_DECLARATIONS_PER_HOLDING,
        description="Codes de vos traitements publiés.",
    )


class HoldingsBody(_Body):
    holdings: list[Holding] = Field(max_length=MAX_HOLDINGS)


class LineageEvent(_Body):
    subject_hash: SubjectHash
    category: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CATEGORY)]
    purpose: Annotated[str, StringConstraints(max_length=MAX_PURPOSE)] = ""
    recipient: Annotated[str, StringConstraints(max_length=MAX_RECIPIENT)] = ""
    occurred_on: str = Field(
        json_schema_extra={"format": "date"}, description="AAAA-MM-JJ, aujourd'hui ou avant."
    )


class LineageEventsBody(_Body):
    events: list[LineageEvent] = Field(max_length=MAX_EVENTS)


class HashingKey(BaseModel):
    algorithm: Literal["HMAC-SHA256"]
    key: str = Field(description="À utiliser telle quelle, en octets UTF-8.")
    normalisation: str
    documentation: str


class Count(BaseModel):
    count: int = Field(description="Éléments reçus et enregistrés.")


class CountAndRemoved(Count):
    removed: int = Field(description="Détentions précédentes supprimées car absentes de la liste.")


# Literals are written out for mypy; they must stay the hashing module's.
if set(get_args(Holding.model_fields["kind"].annotation)) != set(hashing.KINDS) or get_args(
    HashingKey.model_fields["algorithm"].annotation
) != (hashing.ALGORITHM,):
    raise RuntimeError("desk.holdings.bodies must follow desk.holdings.hashing")
