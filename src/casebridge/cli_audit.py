"""`casebridge audit verify|export|verify-proof|checkpoint`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from casebridge.audit.proof import verify_export
from casebridge.cli_common import JsonFlag, print_json, say
from casebridge.errors import CasebridgeError, InvalidInput
from casebridge.i18n import N_

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The tamper-evident audit log (留痕).", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


class AuditBroken(CasebridgeError):
    code = "audit-broken"


@audit_app.command("verify")
def verify(as_json: JsonFlag = False) -> None:
    """Check the whole chain and every checkpoint; name the first bad event. Exit 1 if bad."""
    from casebridge.bootstrap import bootstrap
    from casebridge.cli import settings
    from casebridge.services.audit_log import verify_log
    from casebridge.store.migrate import require_current

    c = bootstrap(settings())
    try:
        require_current(c.engine)
        with c.uow() as uow:
            report = verify_log(uow)
    finally:
        c.close()
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        out.print(
            say(
                N_("audit log intact: {events} events, {checkpoints} checkpoints"),
                events=report.events,
                checkpoints=report.checkpoints,
            )
        )
    if not report.ok:
        bad = report.first_bad or {}
        raise AuditBroken(
            N_("audit log verification failed at event #{seq}: {problem}"),
            params={"seq": bad.get("seq"), "problem": bad.get("problem")},
        )


@audit_app.command("checkpoint")
def checkpoint(as_json: JsonFlag = False) -> None:
    """Sign a tree head over the log as it is now."""
    from casebridge.bootstrap import bootstrap
    from casebridge.cli import settings

    c = bootstrap(settings())
    try:
        with c.uow() as uow:
            cp = uow.audit.checkpoint_now()
            data = {"size": cp.size, "root": cp.root} if cp else {"size": 0}
            uow.commit()
    finally:
        c.close()
    if as_json:
        print_json(data)
    else:
        out.print(say(N_("checkpoint: {data}"), data=data))


@audit_app.command("export")
def export(
    case: Annotated[str, typer.Option("--case", help="Case id.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout).")
    ] = None,
) -> None:
    """Write a case's audit events with an inclusion proof each, verifiable offline."""
    from casebridge.bootstrap import bootstrap
    from casebridge.cli import settings
    from casebridge.services.audit_log import export_case

    c = bootstrap(settings())
    try:
        with c.uow() as uow:
            doc = export_case(uow, case)
    finally:
        c.close()
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(say(N_("wrote {count} events to {path}"), count=len(doc["events"]), path=output))


@audit_app.command("verify-proof")
def verify_proof(
    file: Annotated[Path, typer.Argument(help="An export from `casebridge audit export`.")],
    key: Annotated[Path | None, typer.Option(help="Trusted hub public key (PEM).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify an export offline: hashes, inclusion proofs, checkpoint signature."""
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        trusted = key.read_text(encoding="utf-8") if key else None
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            N_("cannot read {file}: {reason}"), params={"file": file, "reason": exc}
        ) from None
    report = verify_export(doc, trusted)
    if as_json:
        print_json({"ok": report.ok, "events": report.events, "problems": report.problems})
    elif report.ok:
        out.print(
            say(N_("{events} events verified against the signed tree head"), events=report.events)
        )
    if not report.ok:
        raise AuditBroken(
            N_("proof verification failed: {problem}"), params={"problem": report.problems[0]}
        )
