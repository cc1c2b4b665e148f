"""Verifying the whole audit log, and exporting one case's events with inclusion proofs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casebridge.audit.chain import GENESIS, event_hash
from casebridge.audit.merkle import (
    Frontier,
    inclusion_proof,
    leaf_hash,
    push,
    root_from_frontier,
)
from casebridge.audit.signing import verify_signature
from casebridge.audit.store import checkpoint_message
from casebridge.errors import NotFound, Said
from casebridge.i18n import N_
from casebridge.store.uow import UnitOfWork

__all__ = ["VerifyReport", "export_case", "verify_log"]


@dataclass
class VerifyReport:
    ok: bool = True
    events: int = 0
    checkpoints: int = 0
    first_bad: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str, seq: int | None = None, event_id: str | None = None) -> None:
        if self.ok:
            self.first_bad = {"seq": seq, "id": event_id, "problem": message}
        self.ok = False
        self.problems.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_bad": self.first_bad,
            "problems": self.problems,
        }


def verify_log(uow: UnitOfWork) -> VerifyReport:
    """Walk the chain once (bounded memory): hashes, links, head, and every checkpoint."""
    report = VerifyReport()
    checkpoints = {cp.size: cp for cp in uow.audit.checkpoints()}
    head = uow.audit.head()
    head_size, head_hash = head.size, head.last_hash
    prev, prev_seq = GENESIS, 0
    frontier: Frontier = []
    for e in uow.audit.iter_all():
        report.events += 1
        label = Said(N_("event #{seq} ({id}, {action})"), seq=e.seq, id=e.id, action=e.action)
        if e.seq <= prev_seq:
            report.fail(
                Said(N_("{label} is out of order after #{prev}"), label=label, prev=prev_seq),
                e.seq,
                e.id,
            )
        if e.prev_hash != prev:
            report.fail(
                Said(
                    N_(
                        "{label} does not follow the event before it: an event was removed, "
                        "inserted or reordered here"
                    ),
                    label=label,
                ),
                e.seq,
                e.id,
            )
        digest = event_hash(e.prev_hash, e.chained_fields())
        if digest != e.hash:
            report.fail(
                Said(N_("{label} was altered: its content does not match its hash"), label=label),
                e.seq,
                e.id,
            )
        prev, prev_seq = e.hash, e.seq
        frontier = push(frontier, leaf_hash(bytes.fromhex(e.hash)))
        cp = checkpoints.get(report.events)
        if cp is not None:
            report.checkpoints += 1
            root = root_from_frontier(frontier).hex()
            if root != cp.root:
                report.fail(
                    Said(
                        N_("checkpoint at size {size} does not match the events up to {label}"),
                        size=cp.size,
                        label=label,
                    ),
                    e.seq,
                    e.id,
                )
            message = checkpoint_message(cp.size, cp.root, cp.signed_at)
            if not verify_signature(cp.public_key, message, cp.signature):
                report.fail(
                    Said(N_("checkpoint at size {size} has an invalid signature"), size=cp.size)
                )
    if report.events != head_size or prev != head_hash:
        report.fail(
            Said(
                N_(
                    "the log has {events} events ending in {last}…, the head records "
                    "{head_size} ending in {head_last}…: events were removed or added at the end"
                ),
                events=report.events,
                last=prev[:12],
                head_size=head_size,
                head_last=head_hash[:12],
            ),
            prev_seq,
        )
    missing = [s for s in checkpoints if s > report.events]
    for s in missing:
        report.fail(
            Said(N_("checkpoint at size {size} refers to events that are no longer there"), size=s)
        )
    return report


def export_case(uow: UnitOfWork, case_id: str) -> dict[str, Any]:
    """A case's events, each with its inclusion proof in a freshly signed tree head."""
    events = list(uow.audit.for_case(case_id))
    if not events:
        raise NotFound(N_("no audit events for case {case_id}"), params={"case_id": case_id})
    cp = uow.audit.checkpoint_now()
    assert cp is not None
    uow.commit()
    leaves = [leaf_hash(bytes.fromhex(h)) for h in uow.audit.hashes_upto(cp.size)]
    out = []
    for e in events:
        index = uow.audit.position(e.seq)
        fields = e.chained_fields()
        fields["at"] = e.at.isoformat()
        out.append(
            {
                "fields": fields,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "index": index,
                "proof": [p.hex() for p in inclusion_proof(index, leaves)],
            }
        )
    return {
        "format": "casebridge-audit-export/v1",
        "case_id": case_id,
        "checkpoint": {
            "size": cp.size,
            "root": cp.root,
            "signed_at": cp.signed_at.isoformat(),
            "key_id": cp.key_id,
            "public_key": cp.public_key,
            "signature": cp.signature,
        },
        "events": out,
    }
