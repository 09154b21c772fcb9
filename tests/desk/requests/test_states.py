from __future__ import annotations

import pytest

from desk.requests.models import DeliveryState as S
from desk.requests.states import FINAL_STATES, TRANSITIONS, TransitionNotAllowed, check


def test_nothing_leaves_a_final_state() -> None:
    for transition in TRANSITIONS.values():
        assert not (transition.sources & FINAL_STATES), transition.action


def test_fulfil_before_acknowledge_is_allowed() -> None:
    assert check("fulfil", S.SENT).target is S.FULFILLED


@pytest.mark.parametrize("state", [S.FULFILLED, S.DENIED, S.WITHDRAWN])
def test_answers_after_a_final_state_are_refused(state: S) -> None:
    for action in ("acknowledge", "extend", "fulfil", "deny", "withdraw"):
        with pytest.raises(TransitionNotAllowed):
            check(action, state)


def test_extension_happens_once() -> None:
    with pytest.raises(TransitionNotAllowed):
        check("extend", S.EXTENDED)


def test_only_a_failed_delivery_is_retried() -> None:
    assert check("retry", S.FAILED).target is S.PENDING
    with pytest.raises(TransitionNotAllowed):
        check("retry", S.SENT)
