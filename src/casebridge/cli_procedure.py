"""`casebridge nodes …`, `casebridge procedure check`, `casebridge alerts`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from casebridge.cli_common import JsonFlag, print_json, say
from casebridge.domain.catalog import LAWS
from casebridge.domain.scenario import run_scenario
from casebridge.domain.supervision import SupervisionPolicy
from casebridge.errors import InvalidInput, NotFound, Problem
from casebridge.hub.api.procedure import node_dict
from casebridge.i18n import N_
from casebridge.standards.calendar import load_calendar
from casebridge.standards.catalog import load_catalog

__all__ = ["nodes_app", "procedure_app", "register"]

nodes_app = typer.Typer(help="The collaboration-node catalog (协同节点).", no_args_is_help=True)
procedure_app = typer.Typer(help="Procedure rules, limits and alerts.", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


def _basis(items: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{b['law']} {b['article']}" + (f"({b['paragraph']})" if b.get("paragraph") else "")
        for b in items
    )


@nodes_app.command("list")
def nodes_list(
    as_json: JsonFlag = False,
    stage: Annotated[str | None, typer.Option(help="Only nodes allowed at this stage.")] = None,
    sender: Annotated[
        str | None, typer.Option("--from", help="Only nodes this agency type sends.")
    ] = None,
) -> None:
    """List the collaboration nodes with their senders, receivers and legal basis."""
    cat = load_catalog()
    rows = [node_dict(n, cat.reply_to.get(n.code, ())) for n in cat.nodes.values()]
    if stage:
        rows = [r for r in rows if stage in r["stages"] or "*" in r["stages"]]
    if sender:
        rows = [r for r in rows if sender in r["from"]]
    if as_json:
        print_json(rows)
        return
    table = Table(
        title=say(
            N_("{count} collaboration nodes (catalog {version})"),
            count=len(rows),
            version=cat.version,
        )
    )
    # 名称 is Chinese in both languages already (the node names are Chinese)
    for col in (N_("code"), "名称", N_("from → to"), N_("stages"), N_("basis")):
        table.add_column(say(col))
    for r in rows:
        table.add_row(
            r["code"] + (" ↩" if r["reply_to"] else ""),
            r["name_zh"],
            f"{','.join(r['from'])} → {','.join(r['to']) or '—'}",
            ",".join(r["stages"]),
            _basis(r["basis"]),
        )
    out.print(table)


@nodes_app.command("show")
def nodes_show(
    code: Annotated[str, typer.Argument(help="Node code or its exact Chinese name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one node: documents, replies, effects, limits and legal basis."""
    cat = load_catalog()
    node = cat.resolve(code)
    if node is None:
        raise NotFound(
            N_("no collaboration node {code}; see `casebridge nodes list`"),
            params={"code": repr(code)},
        )
    data = node_dict(node, cat.reply_to.get(node.code, ()))
    if as_json:
        print_json(data)
        return
    out.print(f"[bold]{data['code']}[/bold]  {data['name_zh']} / {data['name_en']}")
    out.print(f"  {data['kind']}: {', '.join(data['from'])} → {', '.join(data['to']) or '—'}")
    out.print("  " + say(N_("stages: {stages}"), stages=", ".join(data["stages"])))
    for k, line in _DOCUMENTS.items():
        if data["documents"][k]:
            out.print("  " + say(line, documents=", ".join(data["documents"][k])))
    if data["replies"]:
        out.print("  " + say(N_("replies: {nodes}"), nodes=", ".join(data["replies"])))
    if data["reply_to"]:
        out.print("  " + say(N_("answers: {nodes}"), nodes=", ".join(data["reply_to"])))
    out.print("  " + say(N_("effect: {effect}"), effect=data["effect"]))
    limits = {k: v for k, v in data["limits"].items() if v}
    out.print("  " + say(N_("limits: {limits}"), limits=limits))
    for b in data["basis"]:
        law = LAWS[b["law"]][0]
        para = f"第{b['paragraph']}款" if b.get("paragraph") else ""
        out.print("  " + say(N_("basis: {basis}"), basis=f"{law} 第{b['article']}条{para}"))


_DOCUMENTS = {
    "required": N_("documents required: {documents}"),
    "optional": N_("documents optional: {documents}"),
    "expected": N_("documents expected: {documents}"),
}


def _load_scenario(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            N_("cannot read scenario {path}: {reason}"),
            params={"path": path, "reason": exc.strerror},
        ) from None
    try:
        return json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            N_("scenario {path} is neither valid JSON nor YAML"),
            problems=[Problem(str(path), str(exc).splitlines()[0])],
            params={"path": path},
        ) from None


@procedure_app.command("check")
def procedure_check(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (JSON or YAML; - for stdin).")],
    as_json: JsonFlag = False,
    due_soon_days: Annotated[int, typer.Option(help="Days before a due date to warn.")] = 3,
) -> None:
    """Run a scenario through the rules: state, limits, alerts and refused events."""
    from casebridge.cli import settings

    s = settings()
    result = run_scenario(
        _load_scenario(scenario),
        load_catalog(),
        load_calendar(s.holidays_file),
        SupervisionPolicy(due_soon_days=due_soon_days),
    )
    if as_json:
        print_json(result)
        return
    st = result["state"]
    out.print(
        say(
            N_("as of {date}: stage {stage}, handled by {agency}"),
            date=result["as_of"],
            stage=st["stage"],
            agency=st["handler_agency_type"],
        )
    )
    for key, p in st["persons"].items():
        custody = (
            say(N_("in custody ({holder})"), holder=p["custody_holder"])
            if p["in_custody"]
            else say(N_("not in custody"))
        )
        line = say(
            N_("{key} {name}: measure {measure}, {custody}"),
            key=key,
            name=p["name"],
            measure=p["measure"] or "—",
            custody=custody,
        )
        out.print(f"  {line}")
    table = Table(title=say(N_("limits")))
    for col in (
        N_("rule"),
        N_("person"),
        N_("start"),
        N_("due"),
        N_("status"),
        N_("responsible"),
        N_("basis"),
    ):
        table.add_column(say(col))
    for v in result["limits"]:
        table.add_row(
            v["rule"],
            v["person"] or "—",
            str(v["start"]),
            str(v["due"]),
            v["status"],
            v["responsible_agency_type"] or "—",
            _basis(v["basis"]),
        )
    out.print(table)
    for a in result["alerts"]:
        out.print(
            f"[bold]{a['severity']}[/bold] {a['kind']}: {escape(str(a['message']))} "
            f"→ {a['responsible_agency_type']} ({_basis(a['basis'])})"
        )
    for r in result["refused"]:
        for ref in r["refusals"]:
            # Escaped: Rich would read "[rule; basis]" as a style tag and drop it, so a
            # refusal's rule and legal basis never reached the screen.
            line = say(
                N_("event {index} {node}: {reason} [{rule}; {basis}]"),
                index=r["index"],
                node=r["node"],
                reason=ref["message"],
                rule=ref["rule"],
                basis=_basis(ref["basis"]) or say(N_("platform rule")),
            )
            out.print(f"[red]{escape(say(N_('refused')))}[/red] {escape(line)}")


def alerts_command(
    as_json: JsonFlag = False,
    as_of: Annotated[
        str | None, typer.Option(help="Date to evaluate (default today, UTC+8).")
    ] = None,
) -> None:
    """Supervision alerts of every case at the hub; new ones are recorded and audited."""
    from casebridge.bootstrap import bootstrap
    from casebridge.cli import settings
    from casebridge.services.clock import today_cn
    from casebridge.services.supervision import list_alerts
    from casebridge.store.migrate import require_current

    try:
        day = date.fromisoformat(as_of) if as_of else today_cn()
    except ValueError:
        raise InvalidInput(
            N_("--as-of {value} is not a date (YYYY-MM-DD)"), params={"value": repr(as_of)}
        ) from None
    c = bootstrap(settings())
    try:
        require_current(c.engine)
        with c.uow() as uow:
            found = list_alerts(uow, c.procedure, None, day)
            data: list[dict[str, Any]] = [
                {
                    "case_id": ca.case_id,
                    "title": ca.title,
                    "alerts": [a.as_dict() for a in ca.alerts],
                }
                for ca in found
            ]
    finally:
        c.close()
    if as_json:
        print_json({"as_of": day, "cases": data})
        return
    if not data:
        out.print(say(N_("no alerts as of {date}"), date=day))
    for case in data:
        out.print(f"[bold]{case['title']}[/bold] ({case['case_id']})")
        for a in case["alerts"]:
            out.print(
                f"  {a['severity']} {a['kind']}: {a['message']} → {a['responsible_agency_type']}"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(nodes_app, name="nodes")
    app.add_typer(procedure_app, name="procedure")
    app.command("alerts")(alerts_command)
