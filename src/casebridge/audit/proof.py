"""Offline verification of an exported case log: every event's hash, its inclusion in the
signed tree head, and the head's signature. Needs nothing but the export file (and, to pin
trust, the hub's public key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casebridge.audit.chain import event_hash
from casebridge.audit.merkle import leaf_hash, verify_inclusion
from casebridge.audit.signing import verify_signature
from casebridge.audit.store import checkpoint_message
from casebridge.errors import Said
from casebridge.i18n import N_

__all__ = ["ProofReport", "verify_export"]


@dataclass
class ProofReport:
    ok: bool = True
    events: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


def _fields(e: dict[str, Any]) -> dict[str, Any]:
    out = dict(e["fields"])
    out["at"] = datetime.fromisoformat(out["at"])
    return out


def verify_export(doc: dict[str, Any], trusted_public_key: str | None = None) -> ProofReport:
    report = ProofReport()
    cp = doc.get("checkpoint") or {}
    try:
        size, root = int(cp["size"]), str(cp["root"])
        message = checkpoint_message(size, root, datetime.fromisoformat(cp["signed_at"]))
    except (KeyError, TypeError, ValueError):
        report.fail(Said(N_("the export has no readable checkpoint")))
        return report
    public = trusted_public_key or cp.get("public_key", "")
    if trusted_public_key and cp.get("public_key", "").strip() != trusted_public_key.strip():
        report.fail(Said(N_("the checkpoint was signed with a key other than the trusted one")))
    if not verify_signature(public, message, cp.get("signature", "")):
        report.fail(Said(N_("checkpoint signature over tree size {size} is invalid"), size=size))
    for e in doc.get("events", []):
        report.events += 1
        label = Said(
            N_("event #{seq} ({id})"),
            seq=e.get("fields", {}).get("seq"),
            id=e.get("fields", {}).get("id"),
        )
        try:
            digest = event_hash(e["prev_hash"], _fields(e))
        except (KeyError, TypeError, ValueError):
            report.fail(Said(N_("{event}: malformed"), event=label))
            continue
        if digest != e.get("hash"):
            report.fail(Said(N_("{event}: content does not match its hash"), event=label))
            continue
        proof = [bytes.fromhex(p) for p in e.get("proof", [])]
        leaf = leaf_hash(bytes.fromhex(digest))
        if not verify_inclusion(int(e.get("index", -1)), size, leaf, proof, bytes.fromhex(root)):
            report.fail(
                Said(
                    N_("{event}: not included in the signed tree head of size {size}"),
                    event=label,
                    size=size,
                )
            )
    return report
