"""Loading the GB/T 2260 division list shipped in ``data/divisions.csv`` (see README "Reference data")."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "divisions.csv"


def read_divisions(path: Path = DIVISIONS_CSV) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sync_divisions(division_model: Any, path: Path = DIVISIONS_CSV) -> tuple[int, int]:
    """Insert new codes and update changed names; codes are never deleted (organisations refer to them).

    Takes the model as an argument so the data migration can pass its historical model. Returns
    (created, updated).
    """
    rows = read_divisions(path)
    existing = division_model.objects.in_bulk([r["code"] for r in rows])
    created = updated = 0
    # Provinces first so that parents exist.
    for row in sorted(rows, key=lambda r: (r["level"] != "province", r["code"])):
        values = {
            "name": row["name"],
            "level": row["level"],
            "parent_id": row["parent_code"] or None,
            "separately_planned": row["separately_planned"] == "1",
        }
        current = existing.get(row["code"])
        if current is None:
            division_model.objects.create(code=row["code"], **values)
            created += 1
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            current.save()
            updated += 1
    return created, updated
