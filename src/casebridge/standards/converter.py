"""The code converter the exchange services use, backed by the shipped standards and dialects.

It has the shape of ``casebridge.services.conversion.CodeConverter`` (procedure work): inbound
returns the standard payload and the versions used — standard tables as ``{"crime": "2024.1"}``
and dialect mappings as ``{"police/crime": "2026.1"}`` — so that the exchange records them.
Which dialect an agency speaks comes from its agency type (the dialect files' ``agency_types``)
unless ``agency_dialects`` overrides it; an agency without a dialect speaks the standard, and
its codes are still checked against the standard tables (unknown codes are problems).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from casebridge.standards.registry import Standards, load_standards

__all__ = ["StandardsConverter"]


class StandardsConverter:
    def __init__(
        self, std: Standards | None = None, agency_dialects: Mapping[str, str] | None = None
    ) -> None:
        self.std = std or load_standards()
        self.agency_dialects = agency_dialects

    def dialect_of(self, agency_type: str | None) -> str | None:
        if agency_type is None:
            return None
        if self.agency_dialects is not None:
            return self.agency_dialects.get(str(agency_type))
        return self.std.dialect_for_agency_type(str(agency_type))

    def inbound(
        self, agency_type: str | None, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Sender's payload → standard payload and versions; InvalidInput lists every problem."""
        res = self.std.to_standard(payload, self.dialect_of(agency_type))
        return res.payload, {**res.table_versions, **res.mapping_versions}

    def outbound(self, agency_type: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """Standard payload → the receiving agency's dialect; InvalidInput lists every problem."""
        return self.std.from_standard(payload, self.dialect_of(agency_type)).payload
