"""Audit events appended per second with the hash chain and signed checkpoints on, beside
plain inserts of the same rows into an unchained table — in one run, same engine.

    .venv/bin/python bench/audit_append.py [--events 5000] [--batch 1] [--db sqlite|URL]

Each "transaction" appends --batch events and commits, as a request that does one action
would. The baseline inserts identical rows into a table with the same columns and no chain.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    text,
)

from casebridge.audit.signing import load_or_create_signer
from casebridge.services import audit
from casebridge.store.db import make_engine
from casebridge.store.migrate import upgrade
from casebridge.store.uow import UnitOfWorkFactory


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=1, help="events per transaction")
    ap.add_argument("--checkpoint-every", type=int, default=1000)
    ap.add_argument("--db", default="sqlite", help="sqlite, or a postgresql+psycopg:// URL")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cb-bench-audit-"))
    schema = None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:  # a throwaway schema, so the benchmark never touches existing tables
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(args.db).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.db else "?"
        url = f"{args.db}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    signer = load_or_create_signer(tmp / "audit.pem")
    factory = UnitOfWorkFactory(engine, signer, args.checkpoint_every)

    t0 = time.perf_counter()
    for i in range(0, args.events, args.batch):
        with factory() as uow:
            for j in range(i, min(i + args.batch, args.events)):
                audit.record(
                    uow,
                    "page.read",
                    "page",
                    f"page-{j}",
                    case_id="bench-case",
                    request_id=f"req-{j}",
                    detail={"dossier": "d1", "page": j},
                )
            uow.commit()
    chained = time.perf_counter() - t0

    plain = Table(
        "bench_plain_event",
        MetaData(),
        Column("seq", Integer, primary_key=True),
        Column("id", String(36)),
        Column("action", String(64)),
        Column("object_type", String(32)),
        Column("object_id", String(64)),
        Column("case_id", String(36)),
        Column("request_id", String(64)),
        Column("detail", Text),
    )
    plain.create(engine)
    t0 = time.perf_counter()
    for i in range(0, args.events, args.batch):
        with engine.begin() as conn:
            conn.execute(
                insert(plain),
                [
                    {
                        "id": f"id-{j}",
                        "action": "page.read",
                        "object_type": "page",
                        "object_id": f"page-{j}",
                        "case_id": "bench-case",
                        "request_id": f"req-{j}",
                        "detail": json.dumps({"dossier": "d1", "page": j}),
                    }
                    for j in range(i, min(i + args.batch, args.events))
                ],
            )
    baseline = time.perf_counter() - t0

    with factory() as uow:
        checkpoints = len(uow.audit.checkpoints())
    print(f"machine: {platform.machine()} {platform.system()}, python {platform.python_version()}")
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(
        f"events: {args.events}, per transaction: {args.batch}, "
        f"checkpoint every {args.checkpoint_every} ({checkpoints} signed)"
    )
    print(f"chained audit append : {args.events / chained:10.0f} events/s ({chained:.2f} s)")
    print(f"plain insert baseline: {args.events / baseline:10.0f} events/s ({baseline:.2f} s)")
    print(f"ratio chained/plain  : {baseline / chained:10.2f}")
    engine.dispose()
    if schema:
        with create_engine(args.db).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
