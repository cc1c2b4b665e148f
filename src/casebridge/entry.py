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
    from casebridge.cli_dossier import dossier_app
    from casebridge.errors import CasebridgeError

    try:
        dossier_app(args=argv[1:], prog_name="casebridge dossier")
    except CasebridgeError as exc:  # the same one-line contract as casebridge.cli.main
        sys.stderr.write(f"error: {exc.message}\n")
        for p in exc.problems:
            sys.stderr.write(
                f"  - {p.field}: {p.message}" + (f" ({p.code})" if p.code else "") + "\n"
            )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
