"""`casebridge` command line (Typer). Commands parse input, call services and print results.

Every command that prints data has ``--json``. A failure prints one line ``error: …`` on stderr
and exits 1 (2 for usage errors, from Click) — never a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from casebridge import __version__
from casebridge.bootstrap import Container, bootstrap
from casebridge.cli_codes import codes_app
from casebridge.cli_common import JsonFlag, localized, print_json, run_guarded, say
from casebridge.cli_dossier import dossier_app
from casebridge.config import Settings, load_settings
from casebridge.errors import CasebridgeError, ConfigError
from casebridge.i18n import N_
from casebridge.logs import configure_logging
from casebridge.native import sha256 as native_sha256
from casebridge.services.auth import issue_token
from casebridge.services.setup import InitReport, initialise
from casebridge.store.db import describe_url
from casebridge.store.migrate import current_revision, head_revision, require_current, upgrade

__all__ = ["app", "main"]

app = typer.Typer(
    name="casebridge",
    help="casebridge — cross-department case handling platform (政法跨部门办案平台).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
admin_app = typer.Typer(help="Administration: users and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(codes_app, name="codes")
app.add_typer(dossier_app, name="dossier")

out = Console(highlight=False, soft_wrap=True)


class _State:
    config_file: Path | None = None
    settings: Settings | None = None


_state = _State()


@app.callback()
def _root(
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (also CASEBRIDGE_CONFIG).")
    ] = None,
) -> None:
    _state.config_file = config
    _state.settings = None
    # How pages are hashed is read from the environment by every command, the gateway's
    # dossier commands too, which load no other setting: a bad value stops them here.
    sha = os.environ.get("CASEBRIDGE_SHA256")
    if sha is not None and sha not in native_sha256.CHOICES:
        raise ConfigError(
            N_("invalid setting {source}: {reason} (got {value})"),
            params={
                "source": "CASEBRIDGE_SHA256",
                "reason": "must be " + ", ".join(native_sha256.CHOICES),
                "value": repr(sha),
            },
        )


def settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings(_state.config_file)
        configure_logging(_state.settings.log_format, _state.settings.log_level)
    return _state.settings


def _migrated_container() -> Container:
    c = bootstrap(settings())
    upgrade(c.engine)
    return c


@app.command()
def version(as_json: JsonFlag = False) -> None:
    """Print the version."""
    if as_json:
        print_json({"version": __version__})
    else:
        out.print(f"casebridge {__version__}")


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Create or migrate the database schema to the current head."""
    c = bootstrap(settings())
    try:
        before = current_revision(c.engine)
        upgrade(c.engine)
        after = current_revision(c.engine)
    finally:
        c.close()
    data = {"database": describe_url(str(c.engine.url)), "from": before, "to": after}
    if as_json:
        print_json(data)
    else:
        out.print(
            say(
                N_("database {database}: {before} → {after}"),
                database=data["database"],
                before=before or say(N_("empty")),
                after=after,
            )
        )


@db_app.command("current")
def db_current(as_json: JsonFlag = False) -> None:
    """Show the schema revision of the database and the one the code expects."""
    c = bootstrap(settings())
    try:
        data = {
            "database": describe_url(str(c.engine.url)),
            "current": current_revision(c.engine),
            "head": head_revision(),
        }
    finally:
        c.close()
    if as_json:
        print_json(data)
    else:
        out.print(
            say(
                N_("database {database}: at {current}, head {head}"),
                database=data["database"],
                current=data["current"],
                head=data["head"],
            )
        )


def _save_tokens(var_dir: Path, issued: dict[str, str]) -> Path:
    """Keep the demo users' tokens (shown once by design) where `casebridge demo` finds them."""
    path = var_dir / "demo-tokens.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if issued:
        known.update(issued)
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return path


def _run_init(demo: bool = True) -> tuple[InitReport, Container]:
    c = _migrated_container()
    with c.uow() as uow:
        report = initialise(uow, demo=demo)
    _save_tokens(settings().var_dir, report.issued_tokens)
    return report, c


@app.command()
def init(
    as_json: JsonFlag = False,
    demo: Annotated[bool, typer.Option(help="Also create the demo region and users.")] = True,
) -> None:
    """Create and migrate the database, load standard data and the demo region (idempotent)."""
    report, c = _run_init(demo)
    c.close()
    data = {
        "database": describe_url(str(c.engine.url)),
        "changed": report.changed,
        "created": report.created,
        "tokens_file": str(settings().var_dir / "demo-tokens.json") if demo else None,
    }
    if as_json:
        print_json(data)
        return
    if report.changed:
        created = ", ".join(f"{n} {what}" for what, n in sorted(report.created.items()))
        out.print(
            say(
                N_("initialised {database}: created {created}"),
                database=data["database"],
                created=created,
            )
        )
    else:
        out.print(
            say(N_("{database} already initialised; nothing changed"), database=data["database"])
        )


@admin_app.command("token")
def admin_token(
    username: Annotated[str, typer.Argument(help="User to issue the token for.")],
    name: Annotated[str, typer.Option(help="Label for the token.")] = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Issue a new API token for USER. It is printed once and never stored in clear."""
    c = bootstrap(settings())
    try:
        require_current(c.engine)
        with c.uow() as uow:
            token = issue_token(uow, username, name)
            uow.commit()
    finally:
        c.close()
    if as_json:
        print_json({"username": username, "token": token})
    else:
        out.print(token)


@admin_app.command("password")
def admin_password(
    username: Annotated[str, typer.Argument(help="User whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set USER's password (argon2id); also clears a lockout."""
    from casebridge.services.login import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(say(N_("new password")), hide_input=True, confirmation_prompt=True)
    c = bootstrap(settings())
    try:
        require_current(c.engine)
        with c.uow() as uow:
            set_password(uow, username, password)
    finally:
        c.close()
    out.print(say(N_("password set for {username}"), username=username))


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CasebridgeError(
                N_("cannot listen on {host}:{port}: {reason}; set CASEBRIDGE_PORT or --port"),
                params={"host": host, "port": port, "reason": exc.strerror},
            ) from None


def tls_options(s: Settings) -> dict[str, Any]:
    """uvicorn options: HTTPS when a server certificate is configured, and mutual TLS
    (client certificates optional, verified against the client CA) when a CA is given.

    TLS is the hub's protocol's own (:func:`casebridge.hub.tls.tls_protocol`), not uvicorn's
    ``ssl_*`` options: those would put it in uvloop's TLS layer, which grew the hub's memory
    with every byte received."""
    from casebridge.hub.tls import HubHttpProtocol, server_context, tls_protocol

    if s.tls_cert_file is None:
        return {"http": HubHttpProtocol}
    for name, path in (
        ("tls_cert_file", s.tls_cert_file),
        ("tls_key_file", s.tls_key_file),
        ("tls_client_ca_file", s.tls_client_ca_file),
    ):
        if path is not None and not path.exists():
            raise CasebridgeError(
                N_("setting {name}: file {path} does not exist"),
                params={"name": name, "path": path},
            )
    if s.tls_key_file is None:
        raise CasebridgeError(N_("setting tls_key_file is required with tls_cert_file"))
    ca = None if s.tls_client_ca_file is None else str(s.tls_client_ca_file)
    return {"http": tls_protocol(server_context(str(s.tls_cert_file), str(s.tls_key_file), ca))}


def _serve(c: Container, host: str, port: int, on_ready: Any = None) -> None:
    import uvicorn

    from casebridge.hub.app import create_app

    _check_port_free(host, port)
    config = uvicorn.Config(
        create_app(container=c),
        host=host,
        port=port,
        loop="uvloop",
        access_log=False,
        log_config=None,
        lifespan="on",
        **tls_options(c.settings),
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets)
            if server.started:
                on_ready(server)

        server.startup = startup  # type: ignore[method-assign]
    server.run()


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default from settings).")] = None,
) -> None:
    """Run the hub (uvicorn with httptools and uvloop). The schema must be current."""
    s = settings()
    c = bootstrap(s)
    require_current(c.engine)
    h, p = host or s.host, s.port if port is None else port
    try:
        _serve(
            c,
            h,
            p,
            on_ready=lambda _srv: out.print(
                say(
                    N_("casebridge hub listening on {url}"),
                    url=f"{'https' if s.tls_cert_file else 'http'}://{h}:{p}",
                )
            ),
        )
    except KeyboardInterrupt:
        pass
    finally:
        c.close()


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Listen port (default from settings).")] = None,
) -> None:
    """Initialise var/, start the hub, and print the URL, the demo users and what to try."""
    s = settings()
    explicit = {"CASEBRIDGE_LOG_FORMAT", "CASEBRIDGE_CONFIG"} & set(os.environ)
    if not explicit and _state.config_file is None:
        # a person watches the demo: readable log lines unless JSON was asked for
        configure_logging("console", s.log_level)
    report, c = _run_init(demo=True)
    tokens = json.loads((s.var_dir / "demo-tokens.json").read_text())
    with c.uow() as uow:
        users = [(u.username, u.display_name, ",".join(u.roles)) for u in uow.users.list()]
        missing = [name for name, _, _ in users if name not in tokens]
        for name in missing:  # tokens file lost: issue fresh ones rather than fail
            tokens[name] = issue_token(uow, name, name="demo")
        uow.commit()
    _save_tokens(s.var_dir, {n: tokens[n] for n in missing})
    from casebridge.services.clock import today_cn
    from casebridge.services.demo import seed_demo_cases

    seeded = seed_demo_cases(c.uow, c.procedure, today_cn())
    host, p = s.host, s.port if port is None else port

    def ready(_server: Any) -> None:
        url = f"http://{host}:{p}"
        table = Table(title=say(N_("demo users (API tokens are in var/demo-tokens.json)")))
        for col in (N_("user"), N_("name"), N_("roles"), N_("token")):
            table.add_column(say(col))
        for name, display, roles in users:
            table.add_row(name, display, roles, tokens.get(name, "")[:14] + "…")
        out.print(
            "\n" + say(N_("[bold]casebridge hub[/bold] running at [bold]{url}[/bold]"), url=url)
        )
        out.print(table)
        t = tokens.get("police.handler", "TOKEN")
        out.print(say(N_("Try:")))
        api = say(N_("the API, interactive"))
        out.print(f"  open {url}/api/docs            — {api}")
        out.print(f"  curl {url}/healthz")
        out.print(f"  curl -H 'Authorization: Bearer {t}' {url}/api/v1/me")
        out.print(f"  curl -H 'Authorization: Bearer {t}' {url}/api/v1/cases")
        out.print(f"  curl -H 'Authorization: Bearer {t}' {url}/api/v1/alerts")
        out.print(f"  curl -H 'Authorization: Bearer {t}' {url}/api/v1/inbox")
        out.print(say(N_("Press Ctrl-C to stop.")) + "\n")

    out.print(
        say(
            N_("{region}; {cases}; database {database}"),
            region=say(N_("created demo region"))
            if report.changed
            else say(N_("demo region already in place")),
            cases=say(N_("{count} demo exchanges created"), count=seeded)
            if seeded
            else say(N_("demo cases in place")),
            database=describe_url(str(c.engine.url)),
        )
    )
    try:
        _serve(c, host, p, on_ready=ready)
    except KeyboardInterrupt:
        pass  # uvicorn has already shut down gracefully; Ctrl-C is the normal way out
    finally:
        c.close()
    out.print(say(N_("casebridge hub stopped.")))


def _register_feature_commands() -> None:
    from casebridge import cli_procedure
    from casebridge.cli_audit import audit_app
    from casebridge.cli_pki import pki_app

    cli_procedure.register(app)
    app.add_typer(audit_app, name="audit")
    app.add_typer(pki_app, name="pki")


_register_feature_commands()


def main() -> None:
    """Entry point: one clear line and exit 1 for every deliberate error, never a traceback."""
    run_guarded(lambda: localized(app)(prog_name="casebridge"))


if __name__ == "__main__":
    main()
