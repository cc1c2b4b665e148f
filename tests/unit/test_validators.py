"""Validators: GB 11643 ID numbers, court case numbers, procuratorate numbers, names."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.domain.validators import (
    COURT_CRIMINAL_TYPES,
    VALIDATORS,
    id_check_char,
    normalise_name,
    validate_court_case_number,
    validate_id_number,
    validate_procuratorate_number,
)
from casebridge.standards.registry import load_standards

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("number", "birth", "gender"),
    [
        ("11010519491231002X", "1949-12-31", "2"),  # GB 11643 test vector
        ("440524188001010014", "1880-01-01", "1"),  # README-domain.md test vector
        ("11010519491231002x", "1949-12-31", "2"),  # lower-case x
        ("１１０１０５１９４９１２３１００２Ｘ", "1949-12-31", "2"),  # full-width
    ],
)
def test_valid_id_numbers_give_birth_date_and_gender(number: str, birth: str, gender: str) -> None:
    v = validate_id_number(number, today=TODAY)
    assert v.valid, v.reasons
    assert v.details["birth_date"] == birth
    assert v.details["gender"] == gender


def test_wrong_check_character_names_the_expected_one() -> None:
    v = validate_id_number("110105194912310021", today=TODAY)
    assert not v.valid
    assert v.reasons == ("check character is 1, expected X",)
    assert v.details["expected_check_char"] == "X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519490231002", "must be 18 characters"),
        ("1101051949023100AX", "must be 18 characters"),
        ("", "must be 18 characters"),
        ("110105194902310023", "birth date 19490231 is not a real date"),
        ("110105209912310012", "out of range"),
    ],
)
def test_invalid_id_numbers_say_why(number: str, reason: str) -> None:
    v = validate_id_number(number, today=TODAY)
    assert not v.valid
    assert any(reason in r for r in v.reasons), v.reasons


def test_legacy_15_digit_number_is_recognised_and_upgraded() -> None:
    v = validate_id_number("110105491231002", today=TODAY)
    assert v.valid, v.reasons
    assert v.details["legacy_15"] is True
    assert v.details["upgraded"] == "11010519491231002X"


def test_division_prefix_is_checked_where_divisions_are_loaded() -> None:
    std = load_standards()
    unknown_fujian = "359999" + "19900101" + "001"
    v = std.validate("id-number", unknown_fujian + id_check_char(unknown_fujian))
    assert not v.valid
    assert v.reasons == ("address code 359999 is not a known division",)
    gulou = "350102" + "19900101" + "001"
    assert std.validate("id-number", gulou + id_check_char(gulou)).valid


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["350102", "110105", "440524"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_every_well_formed_id_number_validates(division: str, birth: date, seq: int) -> None:
    first17 = f"{division}{birth:%Y%m%d}{seq:03d}"
    v = validate_id_number(first17 + id_check_char(first17), today=TODAY)
    assert v.valid, v.reasons
    assert v.details["gender"] == ("1" if seq % 2 else "2")


def test_court_case_number_is_parsed_into_its_parts() -> None:
    v = validate_court_case_number("（2022）闽0102刑初123号", today=TODAY)
    assert v.valid, v.reasons
    assert v.details["year"] == 2022
    assert v.details["court_code"] == "闽0102"
    assert v.details["type"] == "刑初"
    assert v.details["type_name_en"] == "criminal first instance"
    assert v.details["sequence"] == 123


@pytest.mark.parametrize(
    ("number", "court", "type_"),
    [
        ("(2023)闽01刑终45号", "闽01", "刑终"),  # half-width brackets
        ("（2024）闽刑更7号", "闽", "刑更"),  # high court
        ("（2019）最高法刑核12345678号", "最高法", "刑核"),
        ("（2021）粤0703 刑初 9号", "粤0703", "刑初"),  # spaces
    ],
)
def test_court_case_number_variants(number: str, court: str, type_: str) -> None:
    v = validate_court_case_number(number, today=TODAY)
    assert v.valid, v.reasons
    assert (v.details["court_code"], v.details["type"]) == (court, type_)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("2022闽0102刑初123号", "does not match"),
        ("（2022）闽0102刑初号", "does not match"),
        ("（2022）闽0102民初123号", "not a known criminal case type"),
        ("（2015）闽0102刑初1号", "outside 2016"),
        ("（2022）闽0102刑初0号", "natural number"),
    ],
)
def test_malformed_court_case_numbers_say_why(number: str, reason: str) -> None:
    v = validate_court_case_number(number, today=TODAY)
    assert not v.valid
    assert any(reason in r for r in v.reasons), v.reasons


def test_every_criminal_type_code_is_accepted() -> None:
    for code in COURT_CRIMINAL_TYPES:
        v = validate_court_case_number(f"（2022）闽0102{code}1号", today=TODAY)
        assert v.valid, (code, v.reasons)
        assert v.details["type"] == code


@pytest.mark.parametrize(
    "number", ["渝巴检刑诉〔2016〕585号", "深龙华检刑诉〔2019〕1247号", "榕鼓检刑诉[2023]12号"]
)
def test_procuratorate_numbers_from_published_judgments_validate(number: str) -> None:
    v = validate_procuratorate_number(number, today=TODAY)
    assert v.valid, v.reasons
    assert str(v.details["procuratorate"]).endswith("检")


@pytest.mark.parametrize(
    "number", ["刑诉〔2016〕585号", "渝巴检刑诉2016585号", "渝巴检刑诉〔2016〕号"]
)
def test_malformed_procuratorate_numbers_are_invalid(number: str) -> None:
    v = validate_procuratorate_number(number, today=TODAY)
    assert not v.valid
    assert v.reasons


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("张　三", "张三"),
        (" 张 三 ", "张三"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("ＪＯＨＮ  ｓｍｉｔｈ", "JOHN smith"),
    ],
)
def test_names_are_normalised(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(VALIDATORS)), st.text(max_size=40))
def test_validators_never_crash_on_arbitrary_text_and_always_give_a_reason(
    kind: str, text: str
) -> None:
    v = VALIDATORS[kind](text)
    assert v.kind == kind
    assert v.valid or v.reasons
    assert all(isinstance(r, str) and r for r in v.reasons)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789X（）()闽刑初终号检〔〕 ", max_size=30))
def test_validators_never_crash_on_near_miss_text(text: str) -> None:
    for kind, validator in VALIDATORS.items():
        v = validator(text)
        assert v.valid or v.reasons, kind
