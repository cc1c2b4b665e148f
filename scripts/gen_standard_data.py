"""Regenerate the derived data files under src/casebridge/standards/data/ (run by hand).

1. crime_codes.csv — the append-only register of standard crime codes. Existing rows are never
   changed or removed; a name not yet registered (current or retired) gets the next serial.
2. dialects/*_crime.csv — the three SYNTHETIC demo dialects' crime mappings (deterministic).

Usage: python scripts/gen_standard_data.py
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "src" / "casebridge" / "standards" / "data"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def history_names(history: list[dict[str, str]]) -> list[str]:
    out: list[str] = []
    for row in history:
        for name in row["old_name"].split("+"):
            if name not in out:
                out.append(name)
    return out


def register_codes(crimes: list[dict[str, str]], history: list[dict[str, str]]) -> dict[str, str]:
    path = DATA / "crime_codes.csv"
    header = (
        "# Register of casebridge standard crime codes (append-only; see docs/standards.md).\n"
        "# A code is C + a 4-digit serial given once, to one crime name, forever: rows are never\n"
        "# edited, removed or renumbered; a new name (a future supplement) takes the next serial.\n"
        "# Initial allocation 2026-11-27: the 483 current names in crimes_source.csv seq order\n"
        "# (C0001-C0483), then the retired names in crimes_source_history.csv order.\n"
    )
    rows = read_csv(path) if path.exists() else []
    known = {r["name_zh"]: r["code"] for r in rows}
    serial = max((int(r["code"][1:]) for r in rows), default=0)
    names = [c["name_zh"] for c in sorted(crimes, key=lambda c: int(c["seq"]))]
    names += history_names(history)
    for name in names:
        if name not in known:
            serial += 1
            known[name] = f"C{serial:04d}"
            rows.append({"code": known[name], "name_zh": name})
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(header)
        w = csv.DictWriter(f, ["code", "name_zh"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return known


def stem(name: str) -> str:
    return name[:-1] if name.endswith("罪") else name


# Police sub-categories (synthetic): crime name -> list of (suffix, sub-category label).
POLICE_SUBCATEGORIES = {
    "盗窃罪": [
        ("入室盗窃案", False),
        ("扒窃案", False),
        ("盗窃机动车案", False),
        ("其他盗窃案", True),
    ],
    "诈骗罪": [("电信网络诈骗案", False), ("合同类诈骗案", False), ("其他诈骗案", False)],
    "故意伤害罪": [("故意伤害致人轻伤案", False), ("故意伤害致人重伤、死亡案", False)],
    "抢劫罪": [("入户抢劫案", False), ("拦路抢劫案", True)],
}


def police(crimes: list[dict[str, str]], code_of: dict[str, str]) -> list[list[str]]:
    """6-digit codes: 2-digit chapter, 2-digit article group within the chapter, 2-digit sub."""
    by_chapter: dict[int, list[str]] = defaultdict(list)
    crimes_of_article: dict[tuple[int, str], list[str]] = defaultdict(list)
    for c in sorted(crimes, key=lambda c: int(c["seq"])):
        ch = int(c["chapter"])
        art = c["article"] or "decision"
        if art not in by_chapter[ch]:
            by_chapter[ch].append(art)
        crimes_of_article[(ch, art)].append(c["name_zh"])
    rows: list[list[str]] = []
    for ch, arts in sorted(by_chapter.items()):
        for gi, art in enumerate(arts, start=1):
            names = crimes_of_article[(ch, art)]
            base = f"{ch:02d}{gi:02d}"
            subs = POLICE_SUBCATEGORIES.get(names[0]) if len(names) == 1 else None
            if len(names) > 1:
                label = f"{stem(names[0])}等案（第{art}条）"
                for n in names:
                    rows.append([f"{base}00", label, code_of[n], ""])
            elif subs:
                for si, (label, preferred) in enumerate(subs, start=1):
                    rows.append(
                        [f"{base}{si:02d}", label, code_of[names[0]], "y" if preferred else ""]
                    )
            else:
                rows.append([f"{base}00", stem(names[0]) + "案", code_of[names[0]], ""])
    return rows


def procuratorate(crimes: list[dict[str, str]], code_of: dict[str, str]) -> list[list[str]]:
    """5-digit codes: 2-digit chapter + 3-digit order within the chapter; one-to-one."""
    seen: dict[int, int] = defaultdict(int)
    rows = []
    for c in sorted(crimes, key=lambda c: int(c["seq"])):
        ch = int(c["chapter"])
        seen[ch] += 1
        rows.append([f"{ch:02d}{seen[ch]:03d}", c["name_zh"], code_of[c["name_zh"]], ""])
    return rows


def court(crimes: list[dict[str, str]], code_of: dict[str, str]) -> list[list[str]]:
    """案由-style codes 'AY' + 4 digits, one-to-one, except that the smuggling crimes of
    article 151 share one 案由 (one-to-many inbound, many-to-one outbound)."""
    rows = []
    n = 1000
    for c in sorted(crimes, key=lambda c: int(c["seq"])):
        if c["article"] == "151":
            rows.append(
                ["AY0151", "走私武器、弹药、核材料等案由（第151条）", code_of[c["name_zh"]], ""]
            )
            continue
        n += 1
        rows.append([f"AY{n}", c["name_zh"], code_of[c["name_zh"]], ""])
    return rows


def write_mapping(name: str, rows: list[list[str]]) -> None:
    path = DATA / "dialects" / f"{name}_crime.csv"
    path.parent.mkdir(exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(
            f"# SYNTHETIC demo dialect '{name}', table crime: invented codes for demonstration and\n"
            "# tests, not any agency's real codes. One row per link dialect_code <-> standard_code;\n"
            "# outbound_preferred=y picks the dialect code used outbound when a standard code has\n"
            "# several dialect codes. Version: see the dialect's YAML file.\n"
        )
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dialect_code", "dialect_name", "standard_code", "outbound_preferred"])
        w.writerows(rows)


def main() -> None:
    crimes = read_csv(DATA / "crimes_source.csv")
    history = read_csv(DATA / "crimes_source_history.csv")
    code_of = register_codes(crimes, history)
    write_mapping("police", police(crimes, code_of))
    write_mapping("procuratorate", procuratorate(crimes, code_of))
    write_mapping("court", court(crimes, code_of))


if __name__ == "__main__":
    main()
