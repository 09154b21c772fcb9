"""Signatories of the charter and the processing activities they declare."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class SignatoryKind(StrEnum):
    PUBLIC_BODY = "public_body"
    PUBLIC_OPERATOR = "public_operator"
    SOCIAL_HOUSING = "social_housing"
    COMPANY = "company"
    ASSOCIATION = "association"


class CharterStatus(StrEnum):
    """The charter's life cycle (principle 2: an organisation shows its capacity, then signs).

    Only `signed` signatories receive residents' requests; the others are on the public register
    so everyone can follow them.
    """

    CANDIDATE = "candidate"
    CAPACITY_SHOWN = "capacity_shown"
    SIGNED = "signed"
    SUSPENDED = "suspended"
    EXCLUDED = "excluded"
    LEFT = "left"


class ApplicationState(StrEnum):
    RECEIVED = "received"
    MORE_INFO = "more_info"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class Signatory(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(SignatoryKind, max_length=32)
    charter_status = fields.CharEnumField(
        CharterStatus, max_length=16, default=CharterStatus.SIGNED
    )
    # None until the organisation signs (a candidate has not).
    signed_on = fields.DateField(null=True)
    # The version of the charter it signed ("" before signing).
    charter_version = fields.CharField(max_length=32, default="", db_default="")
    # SIREN (9 digits) or SIRET (14), checked with its Luhn key; "" for the older demo rows.
    siret = fields.CharField(max_length=14, default="", db_default="")
    address = fields.TextField(default="", db_default="")
    dpo_name = fields.CharField(max_length=200, default="", db_default="")
    description = fields.TextField(default="")
    website = fields.CharField(max_length=300, default="")
    # The DPO mailbox: the address every signatory has (fictional in the demo).
    dpo_email = fields.CharField(max_length=254)
    # Identifiers this signatory accepts to find a resident; the envelope carries only these.
    accepted_identifiers: fields.Field[list[str]] = fields.JSONField(default=["email"])
    adapter = fields.CharField(max_length=64, default="email")
    # Secrets in here are encrypted at rest (desk.core.crypto); adapters validate the rest.
    adapter_settings: fields.Field[dict[str, object]] = fields.JSONField(default={})
    # Key for the keyed hashes (HMAC-SHA256) of identifiers in holdings and lineage events,
    # encrypted at rest; given once to the signatory.
    hashing_key = fields.CharField(max_length=300, default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    declarations: fields.ReverseRelation[Declaration]
    status_changes: fields.ReverseRelation[StatusChange]

    class Meta:
        table = "signatory"
        ordering = ["name"]


class StatusChange(Model):
    """One dated step of a signatory's charter life, with its reason: public (principle 2)."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Signatory] = fields.ForeignKeyField(
        "models.Signatory", related_name="status_changes", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(CharterStatus, max_length=16)
    reason = fields.TextField(default="")
    charter_version = fields.CharField(max_length=32, default="")
    changed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "signatory_status_change"
        ordering = ["changed_at", "id"]


class CharterApplication(Model):
    """A "Rejoindre la charte" form as it was sent, and the desk team's answer to it."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(SignatoryKind, max_length=32)
    siret = fields.CharField(max_length=14)
    address = fields.TextField()
    website = fields.CharField(max_length=300, default="")
    dpo_name = fields.CharField(max_length=200)
    dpo_email = fields.CharField(max_length=254)
    applicant_name = fields.CharField(max_length=200)
    applicant_email = fields.CharField(max_length=254)
    state = fields.CharEnumField(ApplicationState, max_length=16, default=ApplicationState.RECEIVED)
    # The team's words to the applicant (what is missing, why it is refused).
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)
    signatory: fields.ForeignKeyNullableRelation[Signatory] = fields.ForeignKeyField(
        "models.Signatory", related_name=None, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "charter_application"
        ordering = ["-created_at", "-id"]


class Declaration(Model):
    """One processing activity, as the signatory publishes it."""

    id = fields.IntField(primary_key=True)
    signatory: fields.ForeignKeyRelation[Signatory] = fields.ForeignKeyField(
        "models.Signatory", related_name="declarations", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    title = fields.CharField(max_length=200)
    purposes = fields.TextField()
    legal_basis = fields.CharField(max_length=64)
    data_categories: fields.Field[list[str]] = fields.JSONField(default=[])
    retention = fields.TextField()
    # Who the data is shared with, as names people read: the names of `recipient_refs` (in that
    # order, as they were when this version was written), then free text typed before the
    # register of organisations existed ("legacy"; no new free text is accepted from the space).
    recipients: fields.Field[list[str]] = fields.JSONField(default=[])
    # The recipients chosen from the register: "signatory:<slug>" or "organisation:<slug>".
    recipient_refs: fields.Field[list[str]] = fields.JSONField(default=[], db_default="[]")
    source = fields.TextField(default="")
    dpia_summary = fields.TextField(default="")
    # Principle 9: whether decisions are automated, and how the algorithm is explained.
    automated_decisions = fields.TextField(default="", db_default="")
    algorithm_explanation = fields.TextField(default="", db_default="")
    dpia_date = fields.DateField(null=True)
    dpia_url = fields.CharField(max_length=300, default="", db_default="")
    # SHA-256 of the impact study's uploaded PDF (DeclarationDocument), "" when none: the version
    # history shows when the document changed, and anyone can check the file they downloaded.
    dpia_pdf_sha256 = fields.CharField(max_length=64, default="", db_default="")
    # Principle 6 and the jury's Thème 2: what the processing served, a short yearly statement.
    results_statement = fields.TextField(default="", db_default="")
    results_year = fields.IntField(null=True)
    # A retired declaration stays public, with its history: the processing has ended.
    retired_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    versions: fields.ReverseRelation[DeclarationVersion]

    class Meta:
        table = "declaration"
        unique_together = (("signatory", "code"),)
        ordering = ["id"]


class DeclarationVersion(Model):
    """A declaration as it stood after one change: every version is kept and public."""

    id = fields.IntField(primary_key=True)
    declaration: fields.ForeignKeyRelation[Declaration] = fields.ForeignKeyField(
        "models.Declaration", related_name="versions", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    # created, edited or retired.
    change = fields.CharField(max_length=16)
    snapshot: fields.Field[dict[str, object]] = fields.JSONField(default={})
    changed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "declaration_version"
        unique_together = (("declaration", "number"),)
        ordering = ["declaration_id", "number"]


class DeclarationDocument(Model):
    """An impact study (DPIA) uploaded as a PDF, public like its declaration.

    Kept in the database rather than in a directory: several web instances and workers share one
    PostgreSQL (nothing else to share or back up), a document is small (5 MB at most), and a
    declaration has few. Every upload is kept as long as its declaration (public documents, like
    the versions that name each by its SHA-256); deleting the declaration deletes them.
    """

    id = fields.IntField(primary_key=True)
    declaration: fields.ForeignKeyRelation[Declaration] = fields.ForeignKeyField(
        "models.Declaration", related_name="documents", on_delete=fields.CASCADE
    )
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    content = fields.BinaryField()
    uploaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "declaration_document"
        unique_together = (("declaration", "sha256"),)


class Organisation(Model):
    """An entry of the register of organisations that are not signatories (the CAF, the
    Préfecture, a processor…), so declarations name real recipients and "who shares with whom"
    links real entities. Signatories are in the register as themselves (`Signatory`): a
    recipient's reference names its table ("signatory:<slug>" or "organisation:<slug>").
    """

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(SignatoryKind, max_length=32)
    # SIREN (9 digits) or SIRET (14), checked with its key; "" when unknown.
    siret = fields.CharField(max_length=14, default="", db_default="")
    website = fields.CharField(max_length=300, default="", db_default="")
    # What it is, in a sentence ("Caisse d'allocations familiales du Finistère").
    description = fields.TextField(default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "register_organisation"
        ordering = ["name"]
