"""The criminal case as the hub sees it: stages and the roles persons play in it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PersonRole", "Stage"]


class Stage(StrEnum):
    """Procedural stage of a case (GLOSSARY `stage`), in procedural order."""

    FILING = "filing"  # 立案
    INVESTIGATION = "investigation"  # 侦查
    ARREST_REVIEW = "arrest_review"  # 审查逮捕
    PROSECUTION_REVIEW = "prosecution_review"  # 审查起诉
    FIRST_INSTANCE = "first_instance"  # 一审
    SECOND_INSTANCE = "second_instance"  # 二审
    EXECUTION = "execution"  # 执行
    CLOSED = "closed"  # 结案


class PersonRole(StrEnum):
    SUSPECT = "suspect"  # 犯罪嫌疑人
    DEFENDANT = "defendant"  # 被告人
    OFFENDER = "offender"  # 罪犯
    VICTIM = "victim"  # 被害人
