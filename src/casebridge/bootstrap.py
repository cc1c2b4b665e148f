"""The one place that wires the system: settings → engine → unit-of-work factory (→ adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from casebridge.audit.signing import load_or_create_signer
from casebridge.config import Settings
from casebridge.domain.supervision import SupervisionPolicy
from casebridge.native import sha256 as native_sha256
from casebridge.services.exchanges import ProcedureContext
from casebridge.services.pack_slots import PackSlots
from casebridge.standards.calendar import load_calendar
from casebridge.standards.catalog import load_catalog
from casebridge.standards.converter import StandardsConverter
from casebridge.store.db import make_engine
from casebridge.store.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from casebridge.blobs.sealed import SealedPages

__all__ = ["Container", "bootstrap", "procedure_context"]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    procedure: ProcedureContext
    _pages: SealedPages | None = field(default=None, repr=False)
    _pack_slots: PackSlots | None = field(default=None, repr=False)

    def page_store(self) -> SealedPages:
        """Encrypted page store (built on first use: only dossier work needs the KEK)."""
        if self._pages is None:
            from casebridge.blobs.factory import make_sealed_pages

            self._pages = make_sealed_pages(self.settings)
        return self._pages

    def pack_slots(self) -> PackSlots:
        """The packs this process receives at once (``dossier_pack_slots``)."""
        if self._pack_slots is None:
            self._pack_slots = PackSlots(self.settings.dossier_pack_slots)
        return self._pack_slots

    def close(self) -> None:
        self.engine.dispose()


def procedure_context(settings: Settings) -> ProcedureContext:
    return ProcedureContext(
        catalog=load_catalog(),
        calendar=load_calendar(settings.holidays_file),
        converter=StandardsConverter(),
        policy=SupervisionPolicy(due_soon_days=settings.alert_due_soon_days),
    )


def bootstrap(settings: Settings) -> Container:
    native_sha256.configure(settings.sha256)  # how this process hashes pages
    engine = make_engine(settings.effective_database_url)
    signer = load_or_create_signer(settings.effective_audit_key_file)
    return Container(
        settings=settings,
        engine=engine,
        uow=UnitOfWorkFactory(engine, signer, settings.audit_checkpoint_every),
        procedure=procedure_context(settings),
    )
