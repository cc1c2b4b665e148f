"""`casebridge codes …`: the standard code tables, conversion between dialects, validators.

Reads the tables shipped in the package (no database needed, so the commands work before
`casebridge init`). A validation that finds the input invalid, or a conversion with problems,
prints its result and exits 1 with the problems on stderr — scriptable like `grep`.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from casebridge.cli_common import JsonFlag, cli_lang, print_json, say
from casebridge.domain.codes import Entry
from casebridge.errors import InvalidInput, Problem, Said
from casebridge.i18n import N_, tr
from casebridge.services import standards as service
from casebridge.standards.registry import load_standards

__all__ = ["codes_app"]

codes_app = typer.Typer(
    help="Standard code tables, agency dialects, conversion and validators (数据标准).",
    no_args_is_help=True,
)
_out = Console(highlight=False, soft_wrap=True)


def _entries_table(title: str, rows: list[tuple[str, Entry]], with_table: bool) -> None:
    std = load_standards()
    t = Table(title=title)
    if with_table:
        t.add_column(say(N_("table")))
    for col in (N_("code"), N_("name_zh"), N_("name_en"), N_("detail")):
        t.add_column(say(col))
    for table, e in rows:
        known = std.table(table).entries
        succ = ", ".join(f"{c} {known[c].name_zh}" for c in e.successors)
        detail = (
            say(N_("retired → {successors}"), successors=succ or say(N_("(cancelled)")))
            if e.retired
            else ""
        )
        if "article" in e.extra:
            detail = f"第{e.extra['article']}条 " + detail if e.extra["article"] else detail
        cells = [e.code, e.name_zh, e.name_en, detail.strip()]
        t.add_row(*([table, *cells] if with_table else cells))
    _out.print(t)


def _fail(message: str, problems: list[Problem]) -> None:
    """Like :func:`casebridge.cli_common.run_guarded`, in the user's language."""
    lang = cli_lang()
    sys.stderr.write(tr(N_("error: {message}"), lang, {"message": message}) + "\n")
    for p in problems:
        sys.stderr.write(
            f"  - {p.field}: {p.localized(lang)}" + (f" ({p.code})" if p.code else "") + "\n"
        )
    raise typer.Exit(1)


@codes_app.command("list")
def list_(
    table: Annotated[
        str | None, typer.Argument(help="Table name; omit to list the tables.")
    ] = None,
    current: Annotated[bool, typer.Option(help="Only current (not retired) codes.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the tables, or the codes of one table (retired codes are marked)."""
    std = load_standards()
    if table is None:
        listing = service.catalogue(std)
        data, dialects = listing["tables"], listing["dialects"]
        if as_json:
            print_json({"tables": data, "dialects": dialects})
            return
        t = Table(title=say(N_("standard code tables")))
        for col in (N_("table"), N_("title"), N_("version"), N_("effective"), N_("codes")):
            t.add_column(say(col))
        for row in data:
            t.add_row(
                str(row["table"]),
                f"{row['title_zh']} {row['title_en']}",
                str(row["version"]),
                str(row["effective_from"]),
                str(row["codes"]),
            )
        _out.print(t)
        for d in std.dialects.values():
            line = (
                N_("dialect {name} (synthetic) v{version}: {tables}")
                if d.synthetic
                else N_("dialect {name} v{version}: {tables}")
            )
            _out.print(
                say(line, name=d.name, version=d.version, tables=", ".join(sorted(d.tables)))
            )
        return
    tab = std.table(table)
    entries = tab.current() if current else list(tab.entries.values())
    if as_json:
        print_json(
            {
                "table": tab.name,
                "version": tab.version,
                "effective_from": tab.effective_from,
                "source": tab.source,
                "current": sum(1 for e in tab.entries.values() if not e.retired),
                "retired": sum(1 for e in tab.entries.values() if e.retired),
                "codes": [std.describe(table, e) for e in entries],
            }
        )
    else:
        _entries_table(
            f"{tab.title_zh} {tab.title_en} v{tab.version}", [(table, e) for e in entries], False
        )


@codes_app.command()
def show(
    table: Annotated[str, typer.Argument(help="Table name, e.g. crime.")],
    code: Annotated[str, typer.Argument(help="Standard code, e.g. C0221.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one code; a retired code names its successors."""
    std = load_standards()
    e = std.entry(table, code)
    data = {"table": table, "version": std.table(table).version, **std.describe(table, e)}
    if as_json:
        print_json(data)
    else:
        for k, v in data.items():
            if v not in ("", [], None):
                _out.print(f"{k}: {v}")


@codes_app.command()
def search(
    text: Annotated[str, typer.Argument(help="Part of a name (zh or en) or an exact code.")],
    table: Annotated[str | None, typer.Option(help="Search only this table.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Find codes by name or code across the tables."""
    std = load_standards()
    hits = std.search(text, table)
    if as_json:
        print_json([{"table": t, **std.describe(t, e)} for t, e in hits])
    else:
        _entries_table(
            say(N_("{count} match(es) for {text}"), count=len(hits), text=repr(text)), hits, True
        )


@codes_app.command()
def convert(
    source: Annotated[str, typer.Option("--from", help="Sender's dialect (or 'standard').")],
    target: Annotated[str, typer.Option("--to", help="Receiver's dialect (or 'standard').")],
    file: Annotated[
        typer.FileText | None, typer.Option(help="Payload JSON file (default: stdin).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Convert every coded field of an exchange payload (JSON on stdin) between dialects."""
    text = (file or sys.stdin).read()
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(
            "",
            Said(N_("not JSON: {reason} at line {line}"), reason=exc.msg, line=exc.lineno),
            rule="json",
        )
        raise InvalidInput(N_("payload is not valid JSON"), problems=[problem]) from None
    try:
        res = service.convert_payload(payload, source, target)
    except InvalidInput as exc:
        if as_json:
            print_json(
                {"ok": False, "error": exc.message, "problems": [p.as_dict() for p in exc.problems]}
            )
        _fail(exc.message, exc.problems)
        return
    data = {
        "ok": True,
        "from": source,
        "to": target,
        "table_versions": res.table_versions,
        "mapping_versions": res.mapping_versions,
        "payload": res.payload,
    }
    if as_json:
        print_json(data)
    else:
        print_json(res.payload)
        versions = ", ".join(
            f"{k} {v}" for k, v in {**res.table_versions, **res.mapping_versions}.items()
        )
        sys.stderr.write(
            say(
                N_("converted {source} → {target} using {versions}"),
                source=source,
                target=target,
                versions=versions,
            )
            + "\n"
        )


@codes_app.command()
def validate(
    kind: Annotated[
        str,
        typer.Argument(help="id-number | court-case-number | procuratorate-number | name"),
    ],
    text: Annotated[str, typer.Argument(help="The text to check.")],
    as_json: JsonFlag = False,
) -> None:
    """Validate an identifier; exits 1 (after printing the result) when it is invalid."""
    res = service.validate(kind, text)
    if as_json:
        print_json(res.as_dict())
    else:
        verdict = N_("{kind} {text}: valid") if res.valid else N_("{kind} {text}: INVALID")
        _out.print(say(verdict, kind=kind, text=repr(text)))
        for k, v in res.details.items():
            _out.print(f"  {k}: {v}")
    if not res.valid:
        _fail(
            Said(N_("invalid {kind}"), kind=kind),
            [Problem(kind, r, text, "invalid") for r in res.reasons],
        )
