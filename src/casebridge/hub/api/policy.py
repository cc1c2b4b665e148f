"""Every route declares the access-policy action it is governed by.

The declaration travels in the OpenAPI document (`x-policy`), and the authorization matrix
test refuses any route without one — so a route cannot be added without a policy decision.
"""

from __future__ import annotations

from typing import Any

from casebridge.domain.access import Action

__all__ = ["POLICY_KEY", "policy"]

POLICY_KEY = "x-policy"


def policy(action: Action) -> dict[str, Any]:
    return {POLICY_KEY: action.value}
