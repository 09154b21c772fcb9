"""The charter API's bodies and answers as typed models: they check what a signatory sends and
are the schemas of the OpenAPI document (desk.partners.openapi).

A refusal keeps the charter's own French wording (`refusal`): the same sentences as the
signed-link pages, which share the rules in alerts.py and selfeval.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import ErrorDetails

from desk.charter import alerts, selfeval
from desk.web.validation import ApiBody

# --- requests ------------------------------------------------------------------------------


class AlertResponseBody(ApiBody):
    explanation: Annotated[str, StringConstraints(max_length=alerts.RESPONSE_MAX)]
    corrective_plan: Annotated[str, StringConstraints(max_length=alerts.RESPONSE_MAX)]

    @classmethod
    def refusal(cls, error: ErrorDetails) -> str | None:
        if error["type"] == "string_too_long":
            return alerts.MSG_TOO_LONG
        field = error["loc"][0] if error["loc"] else ""
        return {"explanation": alerts.MSG_EXPLANATION, "corrective_plan": alerts.MSG_PLAN}.get(
            str(field)
        )


class QuestionAnswer(ApiBody):
    answer: Literal["yes", "partly", "no"]
    comment: Annotated[str, StringConstraints(max_length=selfeval.COMMENT_MAX)] = ""


class SelfEvaluationAnswers(ApiBody):
    # One entry per question, nothing else: an unknown key is a question that does not exist.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Une entrée par question : "
            + " ; ".join(f"{key} — {label}" for key, label in selfeval.QUESTIONS)
        },
    )

    # "register" is a method of pydantic's metaclass (ABCMeta.register): aliased, not shadowed.
    register_: QuestionAnswer = Field(alias="register")
    dpo: QuestionAnswer
    on_time: QuestionAnswer
    sharing: QuestionAnswer
    impact: QuestionAnswer
    training: QuestionAnswer


# The fields are written out for mypy; they must stay the published questions, in order.
_KEYS = [field.alias or name for name, field in SelfEvaluationAnswers.model_fields.items()]
if _KEYS != [key for key, _ in selfeval.QUESTIONS]:
    raise RuntimeError("SelfEvaluationAnswers must list desk.charter.selfeval.QUESTIONS")


class SelfEvaluationBody(ApiBody):
    answers: SelfEvaluationAnswers

    @classmethod
    def refusal(cls, error: ErrorDetails) -> str | None:
        loc = error["loc"]
        if len(loc) <= 1:  # no answers, or not an object
            return selfeval.MSG_NOT_OBJECT
        if error["type"] == "extra_forbidden":
            return selfeval.MSG_UNKNOWN
        if loc[-1] == "comment":
            if error["type"] == "string_too_long":
                return selfeval.MSG_COMMENT_TOO_LONG
            return selfeval.MSG_COMMENT_NOT_TEXT
        return selfeval.MSG_MISSING

    def sent(self) -> dict[str, dict[str, str]]:
        """The answers as the charter's rules take them (selfeval.submit)."""
        answers: dict[str, dict[str, str]] = self.answers.model_dump(by_alias=True)
        return answers


# --- answers -------------------------------------------------------------------------------

NullableMoment = Annotated[
    str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})
]


class Alert(BaseModel):
    id: int
    level: Literal[1, 2, 3]
    label: str
    reason: str = Field(description="Motif, en français.")
    delivery_ids: list[int]
    created_at: Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
    closed_at: NullableMoment
    response: str | None
    corrective_plan: str | None
    responded_at: NullableMoment


class AlertList(BaseModel):
    alerts: list[Alert]
