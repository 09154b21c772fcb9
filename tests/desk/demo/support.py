"""What the reference partner's tests share: its state, pointed at a stand-in desk."""

from __future__ import annotations

from desk.demo.reference_partner import PartnerState


def partner_state(url: str) -> PartnerState:
    """A reference partner answering by itself, with client "c" / secret "s", at the desk `url`."""
    return PartnerState(
        desk_base_url=url, client_id="c", client_secret="s", webhook_secrets=[],
        auto_answer=True, api_token=None, unknown_emails=frozenset(),
    )  # fmt: skip
