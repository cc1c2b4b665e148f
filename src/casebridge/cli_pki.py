"""`casebridge pki init|client`: a development CA, the hub's server certificate, and client
certificates for gateways (registered to their user for mutual TLS)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from casebridge.cli_common import JsonFlag, say
from casebridge.i18n import N_
from casebridge.security.pki import ensure_ca, issue_client, issue_server

__all__ = ["pki_app"]

pki_app = typer.Typer(
    help="Development PKI for HTTPS and gateway mutual TLS.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)


def _folder(folder: Path | None) -> Path:
    from casebridge.cli import settings

    return folder or settings().var_dir / "pki"


@pki_app.command("init")
def init(
    names: Annotated[list[str] | None, typer.Option("--name", help="Hub DNS name or IP.")] = None,
    folder: Annotated[Path | None, typer.Option("--dir", help="Default var/pki.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the CA (once) and a hub server certificate."""
    d = _folder(folder)
    ca, _ = ensure_ca(d)
    server = issue_server(d, names or ["localhost", "127.0.0.1"])
    env = {
        "CASEBRIDGE_TLS_CERT_FILE": str(server.cert),
        "CASEBRIDGE_TLS_KEY_FILE": str(server.key),
        "CASEBRIDGE_TLS_CLIENT_CA_FILE": str(ca),
    }
    data = {"ca": str(ca), "cert": str(server.cert), "key": str(server.key), "settings": env}
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    out.print(
        "\n".join(
            (
                say(N_("CA {path}"), path=ca),
                say(N_("hub certificate {path}"), path=server.cert),
                say(N_("set:")),
            )
        )
    )
    for k, v in env.items():
        out.print(f"  {k}={v}")


@pki_app.command("client")
def client(
    username: Annotated[str, typer.Argument(help="User (usually a gateway identity).")],
    folder: Annotated[Path | None, typer.Option("--dir", help="Default var/pki.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue a client certificate for USER and register its fingerprint to the user."""
    from casebridge.bootstrap import bootstrap
    from casebridge.cli import settings
    from casebridge.services.auth import register_certificate
    from casebridge.store.migrate import require_current

    d = _folder(folder)
    c = bootstrap(settings())
    try:
        require_current(c.engine)
        issued = issue_client(d, username)
        with c.uow() as uow:
            register_certificate(uow, username, issued.fingerprint)
    finally:
        c.close()
    data = {
        "username": username,
        "cert": str(issued.cert),
        "key": str(issued.key),
        "fingerprint": issued.fingerprint,
    }
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        out.print(f"{username}: {issued.cert} (sha256 {issued.fingerprint})")
