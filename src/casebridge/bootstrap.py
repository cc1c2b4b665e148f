"""The one place that wires the system: settings → engine → unit-of-work factory (→ adapters)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from casebridge.config import Settings
from casebridge.store.db import make_engine
from casebridge.store.uow import UnitOfWorkFactory

__all__ = ["Container", "bootstrap"]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings) -> Container:
    engine = make_engine(settings.effective_database_url)
    return Container(settings=settings, engine=engine, uow=UnitOfWorkFactory(engine))
