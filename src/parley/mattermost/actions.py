"""Message buttons: signed so that a click can be trusted, and read back.

Mattermost sends a click to the button's `integration.url` with no token at all. It
does keep the button's `context` on the server and never shows it to clients. So the
context carries an HMAC of the action and its target, made with a key only Parley
has, and a request whose context does not verify is rejected. The target is a
meeting's slug or a scheduled meeting's id.

Mattermost routes a click only for action ids of letters and digits, so the ids
here have no separators.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

END_MEETING = "endmeeting"
CANCEL_SCHEDULE = "cancelschedule"
ACTIONS_PATH = "/mattermost/actions"


class ActionSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, action: str, target: str) -> str:
        payload = f"{action}\n{target}".encode()
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def verify(self, action: str, target: str, signature: str) -> bool:
        # Bytes, because compare_digest rejects str with non-ASCII characters.
        expected = self.sign(action, target).encode()
        return hmac.compare_digest(expected, signature.encode())


@dataclass(frozen=True)
class Click:
    """A verified button click: who clicked which action on which target."""

    action: str
    target: str
    user_id: str
    user_name: str
    channel_id: str
    post_id: str


class InvalidClick(ValueError):
    """The click request is malformed or its context does not verify."""


def end_button(
    signer: ActionSigner, *, slug: str, callback_url: str, label: str
) -> dict[str, Any]:
    return action_button(
        signer, END_MEETING, slug, callback_url=callback_url, label=label
    )


def action_button(
    signer: ActionSigner, action: str, target: str, *, callback_url: str, label: str
) -> dict[str, Any]:
    return {
        "id": action,
        "type": "button",
        "name": label,
        "style": "danger",
        "integration": {
            "url": f"{callback_url}{ACTIONS_PATH}",
            "context": {
                "action": action,
                "target": target,
                "signature": signer.sign(action, target),
            },
        },
    }


def read_click(body: object, signer: ActionSigner) -> Click:
    """Check a click request's body (PostActionIntegrationRequest) and its context."""
    if not isinstance(body, dict):
        raise InvalidClick("The click request body is not a JSON object.")
    context = body.get("context")
    if not isinstance(context, dict):
        raise InvalidClick("The click request has no context.")

    action = context.get("action")
    target = context.get("target")
    signature = context.get("signature")
    if not all(isinstance(value, str) for value in (action, target, signature)):
        raise InvalidClick("The click context lacks its action, target or signature.")
    assert isinstance(action, str) and isinstance(target, str)
    assert isinstance(signature, str)
    if not signer.verify(action, target, signature):
        raise InvalidClick("The click context's signature does not verify.")

    return Click(
        action=action,
        target=target,
        user_id=str(body.get("user_id") or ""),
        user_name=str(body.get("user_name") or ""),
        channel_id=str(body.get("channel_id") or ""),
        post_id=str(body.get("post_id") or ""),
    )
