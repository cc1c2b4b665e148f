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
from rich.table import Table

from casebridge.cli_common import JsonFlag, print_json
from casebridge.domain.catalog import LAWS
from casebridge.domain.scenario import run_scenario
from casebridge.domain.supervision import SupervisionPolicy
from casebridge.errors import InvalidInput, NotFound, Problem
from casebridge.hub.api.procedure import node_dict
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
    table = Table(title=f"{len(rows)} collaboration nodes (catalog {cat.version})")
    for col in ("code", "名称", "from → to", "stages", "basis"):
        table.add_column(col)
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
        raise NotFound(f"no collaboration node {code!r}; see `casebridge nodes list`")
    data = node_dict(node, cat.reply_to.get(node.code, ()))
    if as_json:
        print_json(data)
        return
    out.print(f"[bold]{data['code']}[/bold]  {data['name_zh']} / {data['name_en']}")
    out.print(f"  {data['kind']}: {', '.join(data['from'])} → {', '.join(data['to']) or '—'}")
    out.print(f"  stages: {', '.join(data['stages'])}")
    for k in ("required", "optional", "expected"):
        if data["documents"][k]:
            out.print(f"  documents {k}: {', '.join(data['documents'][k])}")
    if data["replies"]:
        out.print(f"  replies: {', '.join(data['replies'])}")
    if data["reply_to"]:
        out.print(f"  answers: {', '.join(data['reply_to'])}")
    out.print(f"  effect: {data['effect']}")
    out.print(f"  limits: { {k: v for k, v in data['limits'].items() if v} }")
    for b in data["basis"]:
        law = LAWS[b["law"]][0]
        para = f"第{b['paragraph']}款" if b.get("paragraph") else ""
        out.print(f"  basis: {law} 第{b['article']}条{para}")


def _load_scenario(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read scenario {path}: {exc.strerror}") from None
    try:
        return json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"scenario {path} is neither valid JSON nor YAML",
            problems=[Problem(str(path), str(exc).splitlines()[0])],
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
        f"as of {result['as_of']}: stage {st['stage']}, handled by {st['handler_agency_type']}"
    )
    for key, p in st["persons"].items():
        custody = f"in custody ({p['custody_holder']})" if p["in_custody"] else "not in custody"
        out.print(f"  {key} {p['name']}: measure {p['measure'] or '—'}, {custody}")
    table = Table(title="limits")
    for col in ("rule", "person", "start", "due", "status", "responsible", "basis"):
        table.add_column(col)
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
            f"[bold]{a['severity']}[/bold] {a['kind']}: {a['message']} "
            f"→ {a['responsible_agency_type']} ({_basis(a['basis'])})"
        )
    for r in result["refused"]:
        for ref in r["refusals"]:
            out.print(
                f"[red]refused[/red] event {r['index']} {r['node']}: {ref['message']} "
                f"[{ref['rule']}; {_basis(ref['basis']) or 'platform rule'}]"
            )


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
        raise InvalidInput(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
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
        out.print(f"no alerts as of {day}")
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
