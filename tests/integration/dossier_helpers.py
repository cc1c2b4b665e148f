"""Helpers shared by the dossier integration tests: folders of random pages, tokens."""

from __future__ import annotations

import random
from pathlib import Path

from casebridge.bootstrap import Container
from casebridge.services.auth import issue_token
from casebridge.services.setup import initialise


def make_folder(root: Path, volumes: int, pages: int, size: int, seed: int = 1) -> Path:
    """A scanned-dossier folder of incompressible pages (seeded: reproducible)."""
    rnd = random.Random(seed)  # noqa: S311 - test data, not secrets
    for v in range(1, volumes + 1):
        d = root / f"{v:02d}-卷{v}"
        d.mkdir(parents=True)
        for p in range(1, pages + 1):
            (d / f"{p:04d}.jpg").write_bytes(rnd.randbytes(size))
    return root


def demo_token(container: Container, username: str = "police.handler") -> str:
    with container.uow() as uow:
        initialise(uow, demo=True)
    with container.uow() as uow:
        token = issue_token(uow, username, name="test")
        uow.commit()
    return token
