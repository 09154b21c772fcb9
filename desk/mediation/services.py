"""The mediators' rules: sessions, mandates, filing on a resident's behalf, follow-up, purge.

Every function takes the acting mediator and checks, before anything else, that the resident is
one of theirs (a session was opened with them: otherwise "not found") and that the mandate
covers the action (otherwise "forbidden"). Done and refused actions are written to the audit
table (MediationEvent), with ids only.

The rules live in small modules, one responsibility each; this module gathers their public
names so callers import them from one place:

- rules: durations, messages, errors, typed inputs;
- access: who a mediator may see (the gate) and the audit of refusals;
- sessions: opening a session, identity and contact, mandates;
- on_behalf: filing a request with the resident present, its acknowledgement;
- followup: the residents followed, news to tell, letters, copies;
- answers: a signatory's question answered through the mediator;
- retention: forgetting contacts once nothing needs them.

Beside them, imported directly by the pages: consent (the resident's code) and telling (the
mails to the resident), revocation (mandates withdrawn), shared (a help point's shared view)
and holders (the "who holds your data" printout).
"""

from __future__ import annotations

from desk.core.emails import InvalidEmail
from desk.mediation.access import (
    Access,
    contact_identifiers,
    contact_identifiers_many,
    contact_of,
    known_resident,
)
from desk.mediation.followup import (
    Change,
    FollowedResident,
    Home,
    Letter,
    ResidentFile,
    home,
    letter,
    letter_posted,
    mark_told,
    resident_file,
    take_copy_for,
)
from desk.mediation.on_behalf import Acknowledgement, acknowledgement, file_for_resident
from desk.mediation.retention import purge_contacts
from desk.mediation.rules import (
    IDENTITY_LABELS,
    KIND_OUTSIDE,
    MANDATE_MONTHS,
    NO_MANDATE,
    NOT_YOURS,
    NOTEWORTHY,
    PAPER_UNSIGNED,
    RETENTION_MONTHS,
    SESSION_CLOSED,
    SIGNATORY_OUTSIDE,
    TOLD_CHANNELS,
    ContactInput,
    DuplicateResident,
    MandateInput,
    MediationRefused,
    end_of_day,
    match_key,
    parse_kinds,
)
from desk.mediation.sessions import (
    MandateSheet,
    find_duplicates,
    mandate_sheet,
    open_session,
    record_paper_signed,
    signed_signatories,
)

__all__ = [
    "IDENTITY_LABELS",
    "KIND_OUTSIDE",
    "MANDATE_MONTHS",
    "NOTEWORTHY",
    "NOT_YOURS",
    "NO_MANDATE",
    "PAPER_UNSIGNED",
    "RETENTION_MONTHS",
    "SESSION_CLOSED",
    "SIGNATORY_OUTSIDE",
    "TOLD_CHANNELS",
    "Access",
    "Acknowledgement",
    "Change",
    "ContactInput",
    "DuplicateResident",
    "FollowedResident",
    "Home",
    "InvalidEmail",
    "Letter",
    "MandateInput",
    "MandateSheet",
    "MediationRefused",
    "ResidentFile",
    "acknowledgement",
    "contact_identifiers",
    "contact_identifiers_many",
    "contact_of",
    "end_of_day",
    "file_for_resident",
    "find_duplicates",
    "home",
    "known_resident",
    "letter",
    "letter_posted",
    "mandate_sheet",
    "mark_told",
    "match_key",
    "open_session",
    "parse_kinds",
    "purge_contacts",
    "record_paper_signed",
    "resident_file",
    "signed_signatories",
    "take_copy_for",
]
