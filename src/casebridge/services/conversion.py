"""The code-conversion port used by exchange intake and delivery.

Agencies keep their own codes; the hub stores the standard. Intake converts sender dialect →
standard, delivery converts standard → receiver dialect. The real implementation comes from the
standards package (``casebridge.standards.registry``); ``StandardCodes`` is for agencies that
already speak the standard, and for tests of the procedure that are not about codes.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

__all__ = ["CodeConverter", "StandardCodes"]


class CodeConverter(Protocol):
    def inbound(
        self, agency_type: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Sender's payload → standard payload and the code-table versions used.
        Raises InvalidInput listing every unmapped or ambiguous code."""
        ...

    def outbound(self, agency_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Standard payload → the receiving agency's dialect."""
        ...


class StandardCodes:
    """Everyone speaks the standard: conversion is a copy."""

    def inbound(
        self, agency_type: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        return copy.deepcopy(payload), {}

    def outbound(self, agency_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(payload)
