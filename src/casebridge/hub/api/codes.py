"""`/api/v1/codes`, `/api/v1/validate`: standard code tables, conversion, validators.

Access: the GET routes serve public reference data (code tables derived from published law and
national standards, and the demo dialects) and need no token. Conversion and validation take
personal data (names, ID numbers) and need an authenticated caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from casebridge.domain.access import Action
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal
from casebridge.services import standards as service
from casebridge.standards.registry import load_standards

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["standards"])


class ConvertIn(BaseModel):
    source: str = Field("standard", alias="from", description="Sender's dialect or 'standard'.")
    target: str = Field("standard", alias="to", description="Receiver's dialect or 'standard'.")
    payload: dict[str, Any]


class ConvertOut(BaseModel):
    source: str = Field(serialization_alias="from")
    target: str = Field(serialization_alias="to")
    payload: dict[str, Any]
    table_versions: dict[str, str]
    mapping_versions: dict[str, str]


class ValidateIn(BaseModel):
    value: str


@router.get("/codes", openapi_extra=policy(Action.PUBLIC))
def list_tables() -> dict[str, Any]:
    """The standard tables (with version and source) and the dialects. Public."""
    return service.catalogue()


@router.get("/codes/{table}", openapi_extra=policy(Action.PUBLIC))
def get_table(table: str, q: str | None = None, current: bool = False) -> dict[str, Any]:
    """All codes of one table (``q`` filters by name or code; retired codes marked). Public."""
    std = load_standards()
    tab = std.table(table)
    entries = [e for _, e in std.search(q, table)] if q else list(tab.entries.values())
    if current:
        entries = [e for e in entries if not e.retired]
    return {
        "table": tab.name,
        "version": tab.version,
        "effective_from": tab.effective_from,
        "source": tab.source,
        "codes": [std.describe(table, e) for e in entries],
    }


@router.get("/codes/{table}/{code}", openapi_extra=policy(Action.PUBLIC))
def get_code(table: str, code: str) -> dict[str, Any]:
    """One code; a retired code lists its successors. Public."""
    std = load_standards()
    entry = std.entry(table, code)
    return {"table": table, "version": std.table(table).version, **std.describe(table, entry)}


@router.post("/codes/convert", response_model_by_alias=True, openapi_extra=policy(Action.REFERENCE))
def convert(body: ConvertIn, principal: CurrentPrincipal) -> ConvertOut:
    """Convert every coded field of a payload; 422 problem+json lists every problem at once."""
    res = service.convert_payload(body.payload, body.source, body.target)
    return ConvertOut(
        source=body.source,
        target=body.target,
        payload=res.payload,
        table_versions=res.table_versions,
        mapping_versions=res.mapping_versions,
    )


@router.post("/validate/{kind}", openapi_extra=policy(Action.REFERENCE))
def validate(kind: str, body: ValidateIn, principal: CurrentPrincipal) -> dict[str, object]:
    """Validate an identifier (id-number, court-case-number, procuratorate-number, name).

    Always 200 with ``valid`` and ``reasons``: an invalid value is an answer, not an error.
    """
    return service.validate(kind, body.value).as_dict()
