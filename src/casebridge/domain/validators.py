"""Validators for identifiers that cross agency boundaries; pure, total, and always explain.

Every validator takes arbitrary text and returns a :class:`Validation`: never raises on input,
and an invalid result always carries at least one reason. Facts and sources:

- resident ID number: GB 11643-1999 — 6-digit address code (GB/T 2260), birth date YYYYMMDD,
  3-digit sequence (odd = male, even = female), ISO 7064 MOD 11-2 check character; 15-digit
  legacy numbers (YYMMDD, no check character) are recognised and upgraded by inserting "19"
  and computing the check character.
- court case number (案号): SPC 法〔2015〕137号 as amended by 法〔2018〕335号 —
  ``（年度）法院代字[专门审判代字]类型代字 案件编号 号``, e.g. ``（2022）闽0102刑初123号``.
- procuratorate document number (文号): ``××检××〔YYYY〕N号`` (SPP 工作文书格式样本 2020 template;
  no national format for the parts, so only the shape is checked).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from casebridge.errors import Said
from casebridge.i18n import N_

__all__ = [
    "COURT_CRIMINAL_TYPES",
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "VALIDATORS",
    "Validation",
    "id_check_char",
    "normalise_name",
    "validate_court_case_number",
    "validate_id_number",
    "validate_name",
    "validate_procuratorate_number",
]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

#: Criminal 类型代字 of the court case-type standard (法〔2015〕137号), with the standard's
#: 4-digit type code(s) (several where one 代字 serves several types); README-domain.md
#: (from CaseTypeNewUtil.groovy, matching the standard).
COURT_CRIMINAL_TYPES: dict[str, tuple[str, str, str]] = {
    "刑辖": ("0102/0103", "刑事提级管辖/指定管辖", "criminal jurisdiction transfer/designation"),
    "刑初": ("0201", "刑事一审", "criminal first instance"),
    "刑终": ("0202", "刑事二审", "criminal second instance"),
    "刑监": ("0204", "刑事依职权再审审查", "criminal retrial review (ex officio)"),
    "刑申": ("0205", "刑事申诉再审审查", "criminal retrial review (petition)"),
    "刑抗": ("0206", "刑事抗诉再审审查", "criminal retrial review (protest)"),
    "刑再": ("0207", "刑事再审", "criminal retrial"),
    "刑没": ("0208", "申请没收违法所得", "confiscation of illegal gains"),
    "刑核": (
        "0210/0211/0212",
        "死刑复核/法定刑以下判处刑罚复核/特殊假释复核",
        "review of death sentence, sentence below statutory minimum, or special parole",
    ),
    "刑医": ("0214", "强制医疗申请审查", "compulsory medical treatment"),
    "刑医解": ("0215", "强制医疗解除审查", "release from compulsory medical treatment"),
    "刑医复": ("0216", "强制医疗复议", "compulsory medical treatment reconsideration"),
    "刑医监": ("0217", "强制医疗监督", "compulsory medical treatment supervision"),
    "刑止": (
        "0219/0220",
        "停止执行死刑请求审查/依职权停止执行死刑",
        "suspension of a death sentence (on request / ex officio)",
    ),
    "刑止调": ("0221", "停止执行死刑调查", "suspension of a death sentence: investigation"),
    "刑止核": ("0222", "停止执行死刑调查审核", "suspension of a death sentence: review"),
    "刑更": ("0224", "刑罚与执行变更审查", "change of sentence or execution"),
    "刑更监": ("0225", "刑罚与执行变更监督", "change of sentence or execution: supervision"),
    "刑更备": ("0226", "刑罚与执行变更备案", "change of sentence or execution: filing"),
    "刑他": ("0227", "其他刑事", "other criminal"),
    "刑教": ("0229", "安置教育审查", "resettlement education"),
    "刑教解": ("0230", "解除安置教育审查", "release from resettlement education"),
    "刑教复": ("0231", "安置教育复议", "resettlement education reconsideration"),
    "刑教监": ("0232", "安置教育监督", "resettlement education supervision"),
    "司救刑": ("0518", "刑事司法救助", "judicial aid (criminal)"),
}

_PROVINCE_ABBR = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新内军兵"


@dataclass(frozen=True)
class Validation:
    """Outcome of one validation: valid or not, the reasons, and what was parsed."""

    kind: str
    input: str
    valid: bool
    reasons: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "input": self.input,
            "valid": self.valid,
            "reasons": list(self.reasons),
            **self.details,
        }


_CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def _today() -> date:
    """Today in China (UTC+8): birth dates and document years are Chinese calendar dates."""
    return datetime.now(_CHINA).date()


def _invalid(kind: str, text: str, *reasons: str, **details: object) -> Validation:
    return Validation(kind, text, False, reasons, dict(details))


def _halfwidth(text: str) -> str:
    """Full-width ASCII forms (U+FF01–FF5E) and the ideographic space to half-width."""
    return unicodedata.normalize("NFKC", text)


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character for 17 digits."""
    return ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _birth_date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def validate_id_number(
    text: str, *, divisions: Container[str] | None = None, today: date | None = None
) -> Validation:
    """GB 11643 resident ID number; ``divisions`` (if given) are the loaded address codes.

    ``divisions`` may be partial (only Fujian is shipped): its ``__contains__`` decides which
    prefixes can be checked; see casebridge.standards.registry.
    """
    kind = "id-number"
    raw = text
    s = _halfwidth(text).strip().upper()
    details: dict[str, object] = {}
    if re.fullmatch(r"\d{15}", s):
        birth = _birth_date("19" + s[6:12])
        if birth is None:
            return _invalid(
                kind, raw, Said(N_("birth date {date} is not a real date"), date=f"19{s[6:12]}")
            )
        first17 = s[:6] + "19" + s[6:]
        upgraded = first17 + id_check_char(first17)
        details = {"legacy_15": True, "upgraded": upgraded}
        s = upgraded
    elif not re.fullmatch(r"\d{17}[\dX]", s):
        return _invalid(
            kind,
            raw,
            Said(
                N_(
                    "must be 18 characters (17 digits and a digit or X) or 15 digits; got {count} "
                    "characters"
                )
                if re.fullmatch(r"[\dX]*", s)
                else N_(
                    "must be 18 characters (17 digits and a digit or X) or 15 digits; got {count} "
                    "characters with other characters"
                ),
                count=len(s),
            ),
        )
    reasons: list[str] = []
    expected = id_check_char(s[:17])
    if s[17] != expected:
        reasons.append(
            Said(N_("check character is {got}, expected {expected}"), got=s[17], expected=expected)
        )
    birth = _birth_date(s[6:14])
    if birth is None:
        reasons.append(Said(N_("birth date {date} is not a real date"), date=s[6:14]))
    elif birth > (today or _today()) or birth.year < 1800:
        reasons.append(Said(N_("birth date {date} is out of range"), date=birth.isoformat()))
    if divisions is not None and s[:6] not in divisions:
        reasons.append(Said(N_("address code {code} is not a known division"), code=s[:6]))
    if s[0] == "0":
        reasons.append(Said(N_("address code {code} is not a division code"), code=s[:6]))
    gender = "1" if int(s[16]) % 2 else "2"
    details.update(
        {
            "normalised": s,
            "division": s[:6],
            "birth_date": birth.isoformat() if birth else None,
            "gender": gender,
            "gender_name": "男性" if gender == "1" else "女性",
            "sequence": s[14:17],
            "check_char": s[17],
            "expected_check_char": expected,
        }
    )
    return Validation(kind, raw, not reasons, tuple(reasons), details)


_COURT_RE = re.compile(
    r"[（(](?P<year>\d{4})[）)]"
    r"(?P<court>最高法|[" + _PROVINCE_ABBR + r"](?:\d{2}|\d{4})?)"
    r"(?P<rest>\D+?)"
    r"(?P<seq>\d+)号"
)


def validate_court_case_number(text: str, *, today: date | None = None) -> Validation:
    """Court case number (案号): year, court code, optional special-court char, type, sequence."""
    kind = "court-case-number"
    s = re.sub(r"\s+", "", _halfwidth(text).replace("(", "（").replace(")", "）"))
    m = _COURT_RE.fullmatch(s.replace("（", "(").replace("）", ")"))
    if m is None:
        return _invalid(
            kind,
            text,
            Said(N_("does not match （年度）法院代字类型代字序号号, e.g. （2022）闽0102刑初123号")),
        )
    reasons: list[str] = []
    year = int(m["year"])
    if not 2016 <= year <= (today or _today()).year:
        reasons.append(
            Said(
                N_(
                    "year {year} is outside 2016 (when 法〔2015〕137号 took effect) "
                    "to the current year"
                ),
                year=year,
            )
        )
    rest = m["rest"]
    special = ""
    type_code = rest
    if rest not in COURT_CRIMINAL_TYPES and rest[1:] in COURT_CRIMINAL_TYPES:
        special, type_code = rest[0], rest[1:]
    details: dict[str, object] = {"year": year, "court_code": m["court"]}
    if type_code not in COURT_CRIMINAL_TYPES:
        reasons.append(
            Said(
                N_("type code {code} is not a known criminal case type (刑初, 刑终, 刑更 …)"),
                code=repr(rest),
            )
        )
    else:
        std, zh, en = COURT_CRIMINAL_TYPES[type_code]
        details.update(
            {"type": type_code, "type_code": std, "type_name_zh": zh, "type_name_en": en}
        )
    if special:
        details["special_court"] = special
    seq = m["seq"]
    if int(seq) == 0 or seq.startswith("0"):
        reasons.append(
            Said(N_("sequence {seq} must be a natural number without leading zeros"), seq=seq)
        )
    details["sequence"] = int(seq)
    court = m["court"]
    if court != "最高法" and len(court) > 1:
        details["division_digits"] = court[1:]
    details["normalised"] = s
    return Validation(kind, text, not reasons, tuple(reasons), details)


_PROC_RE = re.compile(
    r"(?P<org>[\u4e00-\u9fff]+?检)(?P<dept>[\u4e00-\u9fff]+)〔(?P<year>\d{4})〕(?P<seq>\d+)号"
)


def validate_procuratorate_number(text: str, *, today: date | None = None) -> Validation:
    """Procuratorate document number ``××检××〔YYYY〕N号``, e.g. 渝巴检刑诉〔2016〕585号."""
    kind = "procuratorate-number"
    s = re.sub(r"\s+", "", _halfwidth(text))
    s = s.replace("[", "〔").replace("]", "〕").replace("［", "〔").replace("］", "〕")
    m = _PROC_RE.fullmatch(s)
    if m is None:
        return _invalid(
            kind, text, Said(N_("does not match ××检××〔YYYY〕N号, e.g. 渝巴检刑诉〔2016〕585号"))
        )
    reasons: list[str] = []
    year = int(m["year"])
    if not 1979 <= year <= (today or _today()).year:
        reasons.append(Said(N_("year {year} is out of range"), year=year))
    if m["seq"].startswith("0"):
        reasons.append(Said(N_("sequence {seq} must not have leading zeros"), seq=m["seq"]))
    details: dict[str, object] = {
        "procuratorate": m["org"],
        "document": m["dept"],
        "year": year,
        "sequence": int(m["seq"]),
        "normalised": s,
    }
    return Validation(kind, text, not reasons, tuple(reasons), details)


def normalise_name(text: str) -> str:
    """A person's name as stored: NFKC (full-width → half-width), no inner spaces between Chinese
    characters, single spaces elsewhere, middle dots unified to U+00B7 (e.g. 阿依古丽·买买提)."""
    s = _halfwidth(text)
    s = re.sub(r"[\u30fb\u2022\u2027\u00b7\uff65.．•]", "\u00b7", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"(?<=[\u3400-\u9fff\u00b7]) (?=[\u3400-\u9fff\u00b7])", "", s)
    return s


def validate_name(text: str) -> Validation:
    kind = "name"
    s = normalise_name(text)
    reasons = []
    if not s:
        reasons.append(Said(N_("name is empty after normalisation")))
    elif any(unicodedata.category(c).startswith(("C", "S")) for c in s):
        reasons.append(Said(N_("name contains control characters or symbols")))
    elif any(c.isdigit() for c in s):
        reasons.append(Said(N_("name contains digits")))
    return Validation(kind, text, not reasons, tuple(reasons), {"normalised": s})


#: Validators by kind, as the CLI and the API name them.
VALIDATORS: dict[str, Callable[[str], Validation]] = {
    "id-number": validate_id_number,
    "court-case-number": validate_court_case_number,
    "procuratorate-number": validate_procuratorate_number,
    "name": validate_name,
}
