"""The one access policy: who may do what with a case. Consulted by every service.

Rules (the security issue's text, as code):
- an agency sees a case only once an exchange has brought it there (it sent or received one);
- inside an agency, a case is visible to its assigned handlers and to the department head
  (and to the agency's gateway, the system identity that feeds the agency's own system);
- supervisors (political-legal committee) see every case's progress and alerts, but not its
  exchanges' content or its dossier pages unless granted;
- auditors read the audit log, platform admins administer users: neither sees case content;
- explicit, time-limited grants (a second handler, a supervisor) extend this, and are audited;
- a denial looks like absence: the services answer 404, never 403, for a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from casebridge.domain.agency import Principal, Role, within_region

__all__ = [
    "Action",
    "CaseAccess",
    "Decision",
    "Grant",
    "GrantScope",
    "decide",
    "decide_dossier",
]


class Action(StrEnum):
    PUBLIC = "public"  # no authentication (health, docs)
    REFERENCE = "reference.read"  # catalog, code tables, agencies, own identity
    CASE_CREATE = "case.create"  # open a case by sending its first exchange
    CASE_LIST = "case.list"  # list the cases one may see (filtered by case.progress)
    CASE_PROGRESS = "case.progress"  # stage, limits, alerts
    CASE_READ = "case.read"  # exchanges and their content
    CASE_WRITE = "case.write"  # send an exchange on an existing case
    SIGN_FOR = "exchange.sign_for"  # 签收: a handler, head or gateway of the receiving agency
    CASE_ASSIGN = "case.assign"  # assign handlers, grant access
    DOSSIER_READ = "dossier.read"  # pages of the case's documents
    DOSSIER_WRITE = "dossier.write"  # upload pages of a version one's agency registered
    AUDIT_READ = "audit.read"
    ADMIN = "platform.admin"


class GrantScope(StrEnum):
    CASE = "case"  # read (and, for a handler of an involved agency, act on) the case
    DOSSIER = "dossier"  # additionally the dossier pages


@dataclass(frozen=True)
class Grant:
    user_id: str
    scope: GrantScope
    expires_at: datetime


@dataclass(frozen=True)
class CaseAccess:
    """What the policy needs to know about one case."""

    agencies: frozenset[str]  # agency ids that sent or received one of its exchanges
    assigned: frozenset[str]  # user ids assigned to it
    grants: tuple[Grant, ...] = ()
    regions: frozenset[str] = frozenset()  # division codes of those agencies


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


_ACTORS = {Role.HANDLER, Role.DEPARTMENT_HEAD, Role.GATEWAY}
_AGENCY_WIDE = {Role.DEPARTMENT_HEAD, Role.GATEWAY}


def _granted(p: Principal, case: CaseAccess, scopes: set[GrantScope], now: datetime) -> bool:
    return any(
        g.user_id == p.user_id and g.scope in scopes and g.expires_at > now for g in case.grants
    )


def decide(
    p: Principal,
    action: Action,
    case: CaseAccess | None = None,
    *,
    now: datetime,
    parties: frozenset[str] | None = None,
    receiver: str | None = None,
) -> Decision:
    """Allow or deny, with the reason (for the audit log, never for the caller).

    ``parties``: for one exchange, the agencies that sent and received it — an agency reads
    only the exchanges it is a party to. ``receiver``: the receiving agency, for SIGN_FOR."""
    roles = p.roles
    if action is Action.PUBLIC:
        return Decision(True, "public")
    if action is Action.REFERENCE:
        return Decision(True, "any authenticated user")
    if action is Action.AUDIT_READ:
        return Decision(Role.AUDITOR in roles, "auditors read the audit log")
    if action is Action.ADMIN:
        return Decision(Role.PLATFORM_ADMIN in roles, "platform admins administer users")
    if action is Action.CASE_CREATE:
        ok = p.agency_id is not None and bool(roles & _ACTORS)
        return Decision(ok, "handlers, department heads and gateways of an agency open cases")
    if action is Action.CASE_LIST:
        return Decision(True, "the list is filtered case by case")
    if case is None:
        return Decision(False, f"{action} needs a case")

    member = p.agency_id is not None and p.agency_id in case.agencies
    agency_wide = member and bool(roles & _AGENCY_WIDE)
    assigned = member and p.user_id in case.assigned
    case_grant = _granted(p, case, {GrantScope.CASE, GrantScope.DOSSIER}, now)
    dossier_grant = _granted(p, case, {GrantScope.DOSSIER}, now)
    party = member if parties is None else p.agency_id in parties
    reads = (party and (agency_wide or assigned)) or case_grant

    if action is Action.SIGN_FOR:
        ok = receiver is not None and p.agency_id == receiver and bool(roles & _ACTORS)
        return Decision(ok, "a handler, head or gateway of the receiving agency")
    if action is Action.CASE_PROGRESS:
        if Role.SUPERVISOR in roles:
            # A supervisor oversees the cases of its region; one without a region, all.
            in_region = p.division_code is None or any(
                within_region(r, p.division_code) for r in case.regions
            )
            return Decision(in_region, "supervisors see the progress of their region's cases")
        return Decision(reads, "involved agency: assigned handler, head, gateway, or grant")
    if action is Action.CASE_READ:
        return Decision(reads, "involved agency: assigned handler, head, gateway, or grant")
    if action is Action.CASE_WRITE:
        acts = member and bool(roles & _ACTORS) and (agency_wide or assigned or case_grant)
        return Decision(acts, "an assigned handler, head or gateway of an involved agency")
    if action is Action.CASE_ASSIGN:
        return Decision(
            member and Role.DEPARTMENT_HEAD in roles, "the department head of an involved agency"
        )
    if action is Action.DOSSIER_READ:
        if Role.SUPERVISOR in roles and not member:
            return Decision(dossier_grant, "supervisors read pages only with a dossier grant")
        return Decision(
            (party and (agency_wide or assigned)) or dossier_grant or (case_grant and party),
            "a party to an exchange carrying the dossier, with case access; or a dossier grant",
        )
    return Decision(False, f"no rule for {action}")  # pragma: no cover - exhaustive above


def decide_dossier(
    p: Principal,
    action: Action,
    *,
    creator_agency: str | None,
    carried_by: Sequence[tuple[CaseAccess, frozenset[str]]],
    now: datetime,
) -> Decision:
    """Dossier versions: the agency that registered one uploads and reads it; anyone else
    reads it only through an exchange that carried it (``carried_by``: each carrying
    exchange's case facts and parties) — a version never sent to an agency does not exist."""
    actor = p.agency_id is not None and bool(p.roles & _ACTORS)
    if actor and creator_agency is not None and p.agency_id == creator_agency:
        return Decision(True, "the agency that registered this version")
    if action is Action.DOSSIER_WRITE:
        return Decision(False, "only the registering agency uploads a version's pages")
    for facts, parties in carried_by:
        if decide(p, Action.DOSSIER_READ, facts, now=now, parties=parties):
            return Decision(True, "received through an exchange")
    return Decision(False, "no exchange brought this version to the caller")
