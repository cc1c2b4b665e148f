"""`casebridge init`: load standard data and the demo region, idempotently.

Idempotent by natural keys (agency code, username): a second run finds everything in place and
writes nothing, which `InitReport.changed` states and the tests assert on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from casebridge.domain.agency import AgencyType, Role
from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_
from casebridge.services import audit
from casebridge.services.auth import issue_token
from casebridge.services.standards import load_standard_tables
from casebridge.standards import data_path
from casebridge.store.models import Agency, User
from casebridge.store.uow import UnitOfWork

__all__ = ["DemoRegion", "InitReport", "initialise", "load_demo_region"]


@dataclass(frozen=True)
class DemoRegion:
    division_code: str
    agencies: list[dict[str, Any]]
    users: list[dict[str, Any]]


@dataclass
class InitReport:
    created: dict[str, int] = field(default_factory=dict)
    issued_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values())

    def bump(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def load_demo_region(path: Path | None = None) -> DemoRegion:
    """Read and check the demo region file; a bad entry names its index and field."""
    raw = yaml.safe_load((path or data_path("demo_region.yaml")).read_text(encoding="utf-8"))
    problems: list[Problem] = []
    for i, a in enumerate(raw["agencies"]):
        if a.get("type") not in set(AgencyType):
            problems.append(
                Problem(f"agencies[{i}].type", Said(N_("unknown agency type")), a.get("type"))
            )
    for i, u in enumerate(raw["users"]):
        for r in u.get("roles", []):
            if r not in set(Role):
                problems.append(Problem(f"users[{i}].roles", Said(N_("unknown role")), r))
    if problems:
        raise InvalidInput(N_("demo region file is invalid"), problems=problems)
    return DemoRegion(raw["region"]["division_code"], raw["agencies"], raw["users"])


def initialise(uow: UnitOfWork, *, demo: bool = True) -> InitReport:
    """Create what is missing, change nothing that exists; commit once."""
    report = InitReport()
    for what, n in load_standard_tables(uow).items():
        report.bump(what, n)
    if demo:
        _ensure_demo_region(uow, load_demo_region(), report)
    if report.changed:
        audit.record(uow, "platform.init", "platform", detail={"created": report.created})
    uow.commit()
    return report


def _ensure_demo_region(uow: UnitOfWork, region: DemoRegion, report: InitReport) -> None:
    by_code: dict[str, Agency] = {}
    for spec in region.agencies:
        agency = uow.agencies.by_code(spec["code"])
        if agency is None:
            parent = by_code.get(spec.get("parent", "")) if spec.get("parent") else None
            agency = uow.agencies.add(
                Agency(
                    code=spec["code"],
                    type=spec["type"],
                    name_zh=spec["name_zh"],
                    name_en=spec["name_en"],
                    division_code=region.division_code,
                    level=spec["level"],
                    parent_id=parent.id if parent else None,
                )
            )
            report.bump("agencies")
        by_code[agency.code] = agency
    for spec in region.users:
        user = uow.users.by_username(spec["username"])
        if user is None:
            agency_code = spec.get("agency")
            user = uow.users.add(
                User(
                    username=spec["username"],
                    display_name=spec["display_name"],
                    agency_id=by_code[agency_code].id if agency_code else None,
                    roles=list(spec["roles"]),
                )
            )
            report.bump("users")
        if uow.tokens.count_for_user(user.id) == 0:
            report.issued_tokens[user.username] = issue_token(uow, user.username, name="demo")
            report.bump("tokens")
