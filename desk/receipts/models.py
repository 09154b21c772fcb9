"""Signed receipts and the public Merkle log they are appended to."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Receipt(Model):
    """One signed receipt, committed with the answer it records; logged shortly after."""

    id = fields.CharField(max_length=40, primary_key=True)
    # Receipts issued before the Merkle log (migration 0010) formed a numbered hash chain
    # ("prev" in their payload); the number stays so those links still verify. None since.
    sequence = fields.IntField(unique=True, null=True)
    delivery: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.Delivery", related_name="receipt", on_delete=fields.RESTRICT
    )
    jws = fields.TextField()
    # SHA-256 of the compact JWS as issued: the old chain's link, and a file's fingerprint.
    digest = fields.CharField(max_length=64, unique=True)
    # RFC 9162 leaf hash of what was signed (the JWS signing input): a receipt is found by it,
    # so a re-encoded signature of the same statement finds the same row. Old receipts get it
    # when the sequencer imports them into the log.
    leaf_hash = fields.CharField(max_length=64, unique=True, null=True)
    # Position in the public log, given by the sequencer (never inside the answer's transaction).
    leaf_index = fields.BigIntField(unique=True, null=True)
    issued_at = fields.DatetimeField()

    class Meta:
        table = "receipt"
        ordering = ["issued_at", "id"]


class LogNode(Model):
    """A complete subtree of the log: leaves [position * 2**level, (position + 1) * 2**level).

    Written once, when the tree grows past it; proofs are computed from these rows.
    """

    id = fields.BigIntField(primary_key=True)
    level = fields.SmallIntField()
    position = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "receipt_log_node"
        unique_together = (("level", "position"),)


class TreeHead(Model):
    """A signed tree head: "the log has `size` leaves and this root", signed by the desk."""

    id = fields.IntField(primary_key=True)
    size = fields.BigIntField(unique=True)
    root_hash = fields.CharField(max_length=64)
    jws = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "receipt_tree_head"
        ordering = ["size"]


class TransparencyCheckpoint(Model):
    """A signed statement of the old receipts chain (its size and head hash), kept so the
    checkpoints people downloaded before the Merkle log still verify. None is written since."""

    id = fields.IntField(primary_key=True)
    size = fields.IntField()
    head = fields.CharField(max_length=64)
    jws = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "transparency_checkpoint"
        ordering = ["-size"]
