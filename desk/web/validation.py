"""Typed API bodies: pydantic's validation errors as the French problem+json answers.

The API bodies are pydantic models (their JSON Schema is the OpenAPI document). When a body
breaks one, pydantic says what is wrong with an error *type* (``missing``, ``string_type``,
``literal_error``…) and a location; `MESSAGES` is the one place those types become French
sentences naming the field, and `validated` the one place they become a 422 problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from desk.core.translatable import N_
from desk.web.errors import ApiProblem

MSG_TYPE = N_("Le champ « {field} » doit être {expected}.")
MSG_REQUIRED = N_("Le champ « {field} » est obligatoire.")
MSG_ENUM = N_("Le champ « {field} » doit valoir l'une de ces valeurs : {values}.")
MSG_TOO_SHORT = N_("Le champ « {field} » ne doit pas être vide.")
MSG_TOO_LONG = N_("Le champ « {field} » est trop long ({limit} caractères au plus).")
MSG_TOO_MANY = "Le champ « {field} » contient trop d'éléments ({limit} au plus)."
MSG_BODY_OBJECT = "Le corps de la demande doit être un objet JSON."
MSG_INVALID = N_("Le champ « {field} » n'a pas une valeur acceptée.")
MSG_NULL = N_("Le champ « {field} » ne peut pas valoir null : omettez-le plutôt.")

# What a field must be, per pydantic's "<type>_type" error (strict mode: no coercion).
TYPE_WORDS = {
    "string_type": N_("un texte"),
    "int_type": N_("un nombre entier"),
    "bool_type": N_("true ou false"),
    "model_type": N_("un objet"),
    "dict_type": N_("un objet"),
    "model_attributes_type": N_("un objet"),
    "list_type": N_("une liste"),
}


class ApiBody(BaseModel):
    """A request body: strict, as its JSON Schema is (a "1" is not the integer 1).

    Unknown fields are ignored, as the document allows them (no additionalProperties).
    """

    model_config = ConfigDict(strict=True, frozen=True)

    @classmethod
    def refusal(cls, error: ErrorDetails) -> str | None:
        """This body's own French words for `error` (a domain's wording the partner already
        knows); None: the common ones of `explain`."""
        return None


M = TypeVar("M", bound=ApiBody)


class OmittableFields(ApiBody):
    """A body whose optional fields may be left out but never sent as null.

    They are typed ``T | None = None`` (None: "not sent"), declared with `omittable()` so the
    document shows them as plain ``T``; an explicit null is refused, as the document says.
    """

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_forbidden", "null")
        return value


def _not_nullable(schema: dict[str, Any]) -> None:
    # `T | None = None` documents as anyOf [T, null] with a default: the partner may omit the
    # field, not send null, so the document shows T alone.
    schema.pop("default", None)
    variants = schema.pop("anyOf", None)
    if variants:
        schema.update(next(v for v in variants if v.get("type") != "null"))


def omittable(**kwargs: Any) -> Any:
    """The `Field` of an optional field of an `OmittableFields` body."""
    return Field(default=None, json_schema_extra=_not_nullable, **kwargs)


def _not_blank(value: str) -> str:
    # The schema's minLength counts characters; a text of spaces says nothing either.
    if not value.strip():
        raise PydanticCustomError("string_too_short", "blank text")
    return value


# Put after StringConstraints(min_length=1, …) in an Annotated text: refuses "   " too.
NotBlank = AfterValidator(_not_blank)


def field_path(loc: Sequence[int | str]) -> str:
    """pydantic's location as the partner writes it: ``outcome.kept[0].category``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path


def _enum_values(expected: str) -> str:
    # pydantic writes a Literal's values as "'a', 'b' or 'c'": the French list is "a, b, c".
    return expected.replace(" or ", ", ").replace("'", "")


def explain(error: ErrorDetails) -> str:
    """One pydantic error as the French sentence the partner reads."""
    kind = error["type"]
    field = field_path(error["loc"])
    ctx = error.get("ctx") or {}
    if not field:
        return MSG_BODY_OBJECT
    if kind == "missing":
        return MSG_REQUIRED.format(field=field)
    if kind == "null_forbidden":
        return MSG_NULL.format(field=field)
    if kind in TYPE_WORDS:
        return MSG_TYPE.format(field=field, expected=TYPE_WORDS[kind])
    if kind in ("literal_error", "enum"):
        return MSG_ENUM.format(field=field, values=_enum_values(str(ctx.get("expected", ""))))
    if kind == "string_too_short":
        return MSG_TOO_SHORT.format(field=field)
    if kind == "string_too_long":
        return MSG_TOO_LONG.format(field=field, limit=ctx.get("max_length"))
    if kind == "too_long":
        return MSG_TOO_MANY.format(field=field, limit=ctx.get("max_length"))
    return MSG_INVALID.format(field=field)


def validated(model: type[M], data: Any) -> M:
    """`data` as a `model`, or a 422 problem naming the first field at fault, in French."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ApiProblem(422, model.refusal(error) or explain(error)) from exc
