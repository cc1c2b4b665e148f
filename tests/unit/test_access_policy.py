"""The access policy, decided in the domain: table-driven over roles and case facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebridge.domain.access import Action, CaseAccess, Grant, GrantScope, decide
from casebridge.domain.agency import AgencyType, Principal, Role

NOW = datetime(2026, 3, 20, tzinfo=UTC)
POLICE, PROC, COURT = "a-police", "a-proc", "a-court"


def user(uid: str, agency: str | None, *roles: Role) -> Principal:
    types = {POLICE: AgencyType.POLICE, PROC: AgencyType.PROCURATORATE, COURT: AgencyType.COURT}
    return Principal(uid, uid, agency, types.get(agency or ""), agency, frozenset(roles))


CASE = CaseAccess(agencies=frozenset({POLICE, PROC}), assigned=frozenset({"u-police-h"}))


@pytest.mark.parametrize(
    ("who", "action", "allowed"),
    [
        (user("u-police-h", POLICE, Role.HANDLER), Action.CASE_READ, True),  # assigned
        (user("u-police-h2", POLICE, Role.HANDLER), Action.CASE_READ, False),  # not assigned
        (user("u-police-head", POLICE, Role.DEPARTMENT_HEAD), Action.CASE_READ, True),
        (user("u-proc-gw", PROC, Role.GATEWAY), Action.CASE_WRITE, True),
        (user("u-court-head", COURT, Role.DEPARTMENT_HEAD), Action.CASE_READ, False),  # foreign
        (user("u-court-head", COURT, Role.DEPARTMENT_HEAD), Action.CASE_PROGRESS, False),
        (user("u-sup", None, Role.SUPERVISOR), Action.CASE_PROGRESS, True),
        (user("u-sup", None, Role.SUPERVISOR), Action.CASE_READ, False),
        (user("u-sup", None, Role.SUPERVISOR), Action.DOSSIER_READ, False),
        (user("u-aud", None, Role.AUDITOR), Action.CASE_READ, False),
        (user("u-aud", None, Role.AUDITOR), Action.AUDIT_READ, True),
        (user("u-adm", None, Role.PLATFORM_ADMIN), Action.CASE_PROGRESS, False),
        (user("u-adm", None, Role.PLATFORM_ADMIN), Action.ADMIN, True),
        (user("u-police-admin", POLICE, Role.AGENCY_ADMIN), Action.CASE_READ, False),
        (user("u-police-head", POLICE, Role.DEPARTMENT_HEAD), Action.CASE_ASSIGN, True),
        (user("u-police-h", POLICE, Role.HANDLER), Action.CASE_ASSIGN, False),
    ],
)
def test_policy_table(who: Principal, action: Action, allowed: bool) -> None:
    assert decide(who, action, CASE, now=NOW).allowed is allowed


def test_grants_are_time_limited_and_scoped() -> None:
    sup = user("u-sup", None, Role.SUPERVISOR)
    dossier = CaseAccess(
        CASE.agencies, CASE.assigned, (Grant("u-sup", GrantScope.DOSSIER, NOW + timedelta(days=1)),)
    )
    case_only = CaseAccess(
        CASE.agencies, CASE.assigned, (Grant("u-sup", GrantScope.CASE, NOW + timedelta(days=1)),)
    )
    expired = CaseAccess(
        CASE.agencies, CASE.assigned, (Grant("u-sup", GrantScope.DOSSIER, NOW - timedelta(1)),)
    )
    assert decide(sup, Action.DOSSIER_READ, dossier, now=NOW)
    assert decide(sup, Action.CASE_READ, dossier, now=NOW)
    assert not decide(sup, Action.DOSSIER_READ, case_only, now=NOW)
    assert decide(sup, Action.CASE_READ, case_only, now=NOW)
    assert not decide(sup, Action.DOSSIER_READ, expired, now=NOW)
    assert not decide(sup, Action.CASE_WRITE, dossier, now=NOW)  # supervisors never act


def test_an_agency_reads_only_exchanges_it_is_party_to() -> None:
    head = user("u-proc-head", PROC, Role.DEPARTMENT_HEAD)
    case = CaseAccess(frozenset({POLICE, PROC, COURT}), frozenset())
    assert decide(head, Action.CASE_READ, case, now=NOW, parties=frozenset({POLICE, PROC}))
    assert not decide(head, Action.CASE_READ, case, now=NOW, parties=frozenset({POLICE, COURT}))


def test_only_the_receiving_agency_signs_for() -> None:
    h = user("u-proc-h", PROC, Role.HANDLER)
    assert decide(h, Action.SIGN_FOR, CASE, now=NOW, receiver=PROC)
    assert not decide(h, Action.SIGN_FOR, CASE, now=NOW, receiver=POLICE)
    admin = user("u-proc-adm", PROC, Role.AGENCY_ADMIN)
    assert not decide(admin, Action.SIGN_FOR, CASE, now=NOW, receiver=PROC)


def test_supervisors_see_progress_of_their_region_only() -> None:
    county = Principal(
        "s1",
        "s1",
        "a-zfw",
        AgencyType.POLITICAL_LEGAL_COMMITTEE,
        "zfw",
        frozenset({Role.SUPERVISOR}),
        division_code="350102",
    )
    city = Principal(
        "s2",
        "s2",
        "a-zfw2",
        AgencyType.POLITICAL_LEGAL_COMMITTEE,
        "zfw2",
        frozenset({Role.SUPERVISOR}),
        division_code="350100",
    )
    gulou = CaseAccess(CASE.agencies, CASE.assigned, regions=frozenset({"350102"}))
    taijiang = CaseAccess(CASE.agencies, CASE.assigned, regions=frozenset({"350103"}))
    xiamen = CaseAccess(CASE.agencies, CASE.assigned, regions=frozenset({"350203"}))
    assert decide(county, Action.CASE_PROGRESS, gulou, now=NOW)
    assert not decide(county, Action.CASE_PROGRESS, taijiang, now=NOW)
    assert decide(city, Action.CASE_PROGRESS, taijiang, now=NOW)
    assert not decide(city, Action.CASE_PROGRESS, xiamen, now=NOW)
