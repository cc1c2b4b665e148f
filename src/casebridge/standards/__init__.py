"""Data standards shipped with the package: code tables, dialects, demo data (under data/)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_path"]


def data_path(name: str) -> Path:
    """Path of a data file shipped inside the package (works from a wheel or a checkout)."""
    return Path(str(resources.files("casebridge.standards") / "data" / name))
