"""The delivery state machine: the one table of allowed transitions."""

from __future__ import annotations

from dataclasses import dataclass

from desk.requests.models import DeliveryState as S


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[S]
    target: S


_OPEN_AT_PARTNER = frozenset({S.SENT, S.ACKNOWLEDGED, S.EXTENDED, S.AWAITING_INFO})

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("send", frozenset({S.PENDING}), S.SENT),
        # A partner may answer before the channel reported the hand-over (a fast DPO).
        Transition("acknowledge", frozenset({S.PENDING, S.SENT}), S.ACKNOWLEDGED),
        # Once only: services also refuse a second extension after a need_info round trip.
        Transition(
            "extend", frozenset({S.PENDING, S.SENT, S.ACKNOWLEDGED, S.AWAITING_INFO}), S.EXTENDED
        ),
        # The signatory asks the resident for more information; the resident's answer sends the
        # delivery back to it (acknowledged, or extended if it had been).
        Transition("need_info", frozenset({S.SENT, S.ACKNOWLEDGED, S.EXTENDED}), S.AWAITING_INFO),
        Transition("provide_info", frozenset({S.AWAITING_INFO}), S.ACKNOWLEDGED),
        Transition("fulfil", _OPEN_AT_PARTNER | {S.PENDING}, S.FULFILLED),
        Transition("deny", _OPEN_AT_PARTNER | {S.PENDING}, S.DENIED),
        Transition("withdraw", _OPEN_AT_PARTNER | {S.PENDING, S.FAILED}, S.WITHDRAWN),
        Transition("fail", frozenset({S.PENDING, S.SENT}), S.FAILED),
        Transition("retry", frozenset({S.FAILED}), S.PENDING),
    )
}

FINAL_STATES = frozenset({S.FULFILLED, S.DENIED, S.WITHDRAWN})
OPEN_STATES = frozenset(S) - FINAL_STATES - {S.FAILED}

# Denial reasons, from the Data Rights Protocol's vocabulary.
DENIAL_REASONS = (
    "no_match",
    "insuf_verification",
    "claim_not_covered",
    "legal_obligation",
    "other",
)

# W3C DPV rights vocabulary, for receipts and the public.
DPV_STATUS: dict[S, str] = {
    S.PENDING: "RequestInitiated",
    S.SENT: "RequestInitiated",
    S.ACKNOWLEDGED: "RequestAcknowledged",
    S.EXTENDED: "RequestActionDelayed",
    S.AWAITING_INFO: "RequestRequiresAction",
    S.FULFILLED: "RequestFulfilled",
    S.DENIED: "RequestRejected",
    S.WITHDRAWN: "RequestUnfulfilled",
    S.FAILED: "RequestUnfulfilled",
}


class TransitionNotAllowed(Exception):
    def __init__(self, action: str, state: S) -> None:
        super().__init__(f"{action} not allowed from {state}")
        self.action = action
        self.state = state


def check(action: str, state: S) -> Transition:
    transition = TRANSITIONS[action]
    if state not in transition.sources:
        raise TransitionNotAllowed(action, state)
    return transition
