"""Exchanges: one instance of a collaboration node between two agencies."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ExchangeStatus"]


class ExchangeStatus(StrEnum):
    """Life of an exchange as the sender sees it: 已送达 → 已签收 → 已反馈."""

    DELIVERED = "delivered"
    SIGNED_FOR = "signed_for"
    REPLIED = "replied"
