"""Agencies, roles and the authenticated caller.

Agency types and role names follow ../GLOSSARY (one name per thing). They are the *standard*
identifiers; an agency's own naming belongs to its dialect, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["AgencyType", "Principal", "Role", "region_prefix", "within_region"]


class AgencyType(StrEnum):
    """Kinds of agency that take part in criminal procedure (政法机关)."""

    POLICE = "police"  # 公安机关
    DETENTION_CENTRE = "detention_centre"  # 看守所
    PROCURATORATE = "procuratorate"  # 人民检察院
    COURT = "court"  # 人民法院
    JUDICIAL_ADMIN = "judicial_admin"  # 司法行政机关 / 司法局
    COMMUNITY_CORRECTIONS = "community_corrections"  # 社区矫正机构
    LEGAL_AID = "legal_aid"  # 法律援助机构
    PRISON = "prison"  # 监狱
    SUPERVISORY_COMMISSION = "supervisory_commission"  # 监察委员会
    # 政法委: not a party to procedure, but the home agency of supervisors.
    POLITICAL_LEGAL_COMMITTEE = "political_legal_committee"


class Role(StrEnum):
    """What a user may do inside the agency; the access policy (security issue) reads these."""

    HANDLER = "handler"  # 承办人
    DEPARTMENT_HEAD = "department_head"  # 部门负责人
    AGENCY_ADMIN = "agency_admin"
    SUPERVISOR = "supervisor"  # 政法委
    AUDITOR = "auditor"
    PLATFORM_ADMIN = "platform_admin"
    GATEWAY = "gateway"  # the system identity of an agency's gateway


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from credentials on every request."""

    user_id: str
    username: str
    agency_id: str | None
    agency_type: AgencyType | None
    agency_code: str | None
    roles: frozenset[Role]
    division_code: str | None = None  # the agency's region (GB/T 2260)

    def has_role(self, role: Role) -> bool:
        return role in self.roles


def region_prefix(division_code: str) -> str:
    """The prefix every division inside this one shares: 350000 → 35, 350100 → 3501,
    350102 → 350102 (GB/T 2260 codes are two digits per level)."""
    code = division_code
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def within_region(division_code: str, region: str) -> bool:
    return division_code.startswith(region_prefix(region))
