"""Payloads converted per second, beside a plain JSON parse-and-dump of the same payloads.

Each payload: 3 persons with 5 charges each, about 20+ coded fields (case crime, per person
role/gender/ethnicity/id_type/domicile/measure and 5 crimes, 2 documents) in the police dialect.
Conversion = json.loads + police → court conversion + json.dumps, so both columns include the
same parsing and serialising; the difference is the cost of conversion itself.

Usage: python bench/conversion.py [--payloads N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from typing import Any

from casebridge.standards.registry import load_standards


def make_payloads(n: int, seed: int = 1) -> list[str]:
    std = load_standards()
    police = std.dialects["police"].tables
    court = std.dialects["court"].tables["crime"]
    rng = random.Random(seed)
    # police codes that map to exactly one standard code the court also knows
    crimes = sorted(
        c for c, s in police["crime"].inbound.items() if len(s) == 1 and s[0] in court.outbound
    )
    genders, measures = sorted(police["gender"].inbound), sorted(police["measure"].inbound)
    ethnicities = sorted(std.table("ethnicity").entries)
    divisions = sorted(std.table("division").entries)
    out = []
    for i in range(n):
        persons = [
            {
                "key": f"p{k}",
                "name": f"测试人{k}",
                "role": "suspect",
                "gender": rng.choice(genders),
                "ethnicity": rng.choice(ethnicities),
                "id_type": "resident_id_card",
                "id_number": "11010519491231002X",
                "birth_date": "1990-01-01",
                "domicile": rng.choice(divisions),
                "measure": rng.choice(measures),
                "charges": [{"crime": rng.choice(crimes)} for _ in range(5)],
            }
            for k in range(3)
        ]
        payload: dict[str, Any] = {
            "case": {"title": f"案件{i}", "case_ref": f"A{i:08d}", "crime": rng.choice(crimes)},
            "persons": persons,
            "documents": [
                {"type": "prosecution_opinion", "title": "起诉意见书", "pages": 3},
                {"type": "arrest_request", "title": "提请批准逮捕书", "pages": 2},
            ],
            "fields": {"summary": "本案" * 20},
        }
        out.append(json.dumps(payload, ensure_ascii=False))
    return out


def rate(fn: Any, payloads: list[str], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for p in payloads:
            fn(p)
        done += len(payloads)
    return done / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payloads", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    std = load_standards()
    payloads = make_payloads(args.payloads)
    sample = std.convert(json.loads(payloads[0]), "police", "court")
    coded = sum(1 for _ in _coded(json.loads(payloads[0])))

    def plain(text: str) -> None:
        json.dumps(json.loads(text), ensure_ascii=False)

    def converted(text: str) -> None:
        res = std.convert(json.loads(text), "police", "court")
        json.dumps(res.payload, ensure_ascii=False)

    base = rate(plain, payloads, args.seconds)
    conv = rate(converted, payloads, args.seconds)
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"payload: 3 persons x 5 charges, {coded} coded fields, {len(payloads[0])} chars")
    print(f"table versions recorded: {sample.table_versions}")
    print(f"plain json parse+dump        : {base:10.0f} payloads/s")
    print(f"parse+convert police→court+dump: {conv:10.0f} payloads/s ({conv / base:.2f}x of plain)")


def _coded(payload: dict[str, Any]) -> list[str]:
    fields = ["crime"] if payload["case"].get("crime") else []
    for p in payload["persons"]:
        fields += [
            k for k in ("role", "gender", "ethnicity", "id_type", "domicile", "measure") if k in p
        ]
        fields += ["crime" for _ in p["charges"]]
    fields += ["type" for _ in payload["documents"]]
    return fields


if __name__ == "__main__":
    main()
