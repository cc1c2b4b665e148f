"""The `casebridge` executable: a thin dispatcher in front of :mod:`casebridge.cli`.

Why: the full CLI imports the database stack (SQLAlchemy, Alembic, pydantic settings), about
three seconds on a busy two-core machine. `casebridge dossier …` runs on agency workstations and
gateways and needs none of it, so it is dispatched to :mod:`casebridge.cli_dossier` directly;
every other command goes to the full CLI unchanged.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] != ["dossier"]:
        from casebridge.cli import main as full_cli

        full_cli()
        return
    from casebridge.cli_common import localized, run_guarded
    from casebridge.cli_dossier import dossier_app
    from casebridge.gcsettings import relax_gc

    relax_gc()  # manifests of thousands of pages: see casebridge.gcsettings

    # the same one-line error contract as casebridge.cli.main
    run_guarded(lambda: localized(dossier_app)(args=argv[1:], prog_name="casebridge dossier"))


if __name__ == "__main__":
    main()
