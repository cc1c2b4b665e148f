"""The one place that wires the system: settings → engine → unit-of-work factory (→ adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from casebridge.config import Settings
from casebridge.store.db import make_engine
from casebridge.store.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from casebridge.blobs.sealed import SealedPages

__all__ = ["Container", "bootstrap"]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    _pages: SealedPages | None = field(default=None, repr=False)

    def page_store(self) -> SealedPages:
        """Encrypted page store (built on first use: only dossier work needs the KEK)."""
        if self._pages is None:
            from casebridge.blobs.factory import make_sealed_pages

            self._pages = make_sealed_pages(self.settings)
        return self._pages

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings) -> Container:
    engine = make_engine(settings.effective_database_url)
    return Container(settings=settings, engine=engine, uow=UnitOfWorkFactory(engine))
