#!/usr/bin/env python3
"""Convert the China map shipped in the npm package echarts@4.9.0 (Apache-2.0) into plain GeoJSON.

ECharts stopped shipping maps in version 5; version 4.9.0's ``map/json/china.json`` (provinces, with their
GB/T 2260 codes) and ``map/json/china-cities.json`` (prefecture-level cities, with a centre point each) are
stored in ECharts' compressed "UTF8Encoding". This script decodes them once into standard GeoJSON that both the
browser (echarts.registerMap) and the server can read.

Usage: scripts/vendor_map.py PACKAGE_DIR OUTPUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _decode_ring(encoded: str, offset: list[int], scale: float) -> list[list[float]]:
    ring = []
    x_prev, y_prev = offset
    for i in range(0, len(encoded), 2):
        x = ord(encoded[i]) - 64
        y = ord(encoded[i + 1]) - 64
        x = (x >> 1) ^ (-(x & 1))  # zigzag
        y = (y >> 1) ^ (-(y & 1))
        x += x_prev
        y += y_prev
        x_prev, y_prev = x, y
        ring.append([round(x / scale, 5), round(y / scale, 5)])
    return ring


def decode(data: dict[str, Any]) -> dict[str, Any]:
    scale = float(data.get("UTF8Scale", 1024))
    for feature in data["features"]:
        geometry = feature["geometry"]
        rings, offsets = geometry["coordinates"], geometry.pop("encodeOffsets")
        if geometry["type"] == "Polygon":
            geometry["coordinates"] = [_decode_ring(r, o, scale) for r, o in zip(rings, offsets, strict=True)]
        else:
            geometry["coordinates"] = [
                [_decode_ring(r, o, scale) for r, o in zip(polygon, polygon_offsets, strict=True)]
                for polygon, polygon_offsets in zip(rings, offsets, strict=True)
            ]
    data.pop("UTF8Encoding", None)
    data.pop("UTF8Scale", None)
    return data


def main() -> None:
    package, output = Path(sys.argv[1]), Path(sys.argv[2])
    output.mkdir(parents=True, exist_ok=True)
    provinces = decode(json.loads((package / "map/json/china.json").read_text(encoding="utf-8")))
    for feature in provinces["features"]:
        props = feature["properties"]
        feature["properties"] = {"adcode": props["id"][:2] + "0000", "name": props["name"], "centre": props["cp"]}
    (output / "china-provinces.geojson").write_text(json.dumps(provinces, ensure_ascii=False), encoding="utf-8")
    cities = json.loads((package / "map/json/china-cities.json").read_text(encoding="utf-8"))
    centres = {f["properties"]["name"]: f["properties"]["cp"] for f in cities["features"]}
    centres.update({f["properties"]["name"]: f["properties"]["centre"] for f in provinces["features"]})
    (output / "city-centres.json").write_text(json.dumps(centres, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"{len(provinces['features'])} provinces, {len(centres)} centres written to {output}")


if __name__ == "__main__":
    main()
