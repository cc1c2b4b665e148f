"""Response and request bodies of the JSON API (Pydantic 2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["AgencyOut", "HealthOut", "MeOut", "ReadyOut"]


class HealthOut(BaseModel):
    status: str
    version: str


class ReadyOut(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str


class MeOut(BaseModel):
    user_id: str
    username: str
    agency_id: str | None
    agency_type: str | None
    agency_code: str | None
    roles: list[str]


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    type: str
    name_zh: str
    name_en: str
    division_code: str
    level: str
    parent_id: str | None
    created_at: datetime
