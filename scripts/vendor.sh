#!/usr/bin/env bash
# Refresh the vendored front-end assets in infocity/static/vendor/ from the npm registry.
# The files are committed, so `make run` never needs npm or the network; run this only to upgrade,
# after changing a version below. Each package keeps its licence beside its files.
set -euo pipefail

BOOTSTRAP=5.3.8
HTMX=2.0.11
ECHARTS=6.1.0
ECHARTS_MAP=4.9.0   # the last ECharts release that shipped the China map (Apache-2.0)
AXE=4.14.1          # axe-core, for the accessibility check of the browser tests only (MPL-2.0; never served)

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/infocity/static/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() {  # fetch NAME VERSION -> unpacks into $tmp/NAME
  mkdir -p "$tmp/$1"
  (cd "$tmp" && npm pack "$1@$2" --silent >/dev/null)
  tar xzf "$tmp/$(echo "$1" | tr -d '@' | tr '/' '-')-$2.tgz" -C "$tmp/$1" --strip-components=1
}

rm -rf "$vendor"
mkdir -p "$vendor"

fetch bootstrap "$BOOTSTRAP"
d="$vendor/bootstrap-$BOOTSTRAP"
mkdir -p "$d/css" "$d/js"
cp "$tmp/bootstrap/dist/css/bootstrap.min.css" "$tmp/bootstrap/dist/css/bootstrap.min.css.map" "$d/css/"
cp "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js" "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js.map" "$d/js/"
cp "$tmp/bootstrap/LICENSE" "$d/LICENSE"

fetch htmx.org "$HTMX"
d="$vendor/htmx-$HTMX"
mkdir -p "$d"
cp "$tmp/htmx.org/dist/htmx.min.js" "$d/"
cp "$tmp/htmx.org/LICENSE" "$d/LICENSE"

fetch echarts "$ECHARTS"
d="$vendor/echarts-$ECHARTS"
mkdir -p "$d"
cp "$tmp/echarts/dist/echarts.min.js" "$d/"
cp "$tmp/echarts/LICENSE" "$d/LICENSE"

mkdir -p "$tmp/echarts-map"
(cd "$tmp" && npm pack "echarts@$ECHARTS_MAP" --silent >/dev/null)
tar xzf "$tmp/echarts-$ECHARTS_MAP.tgz" -C "$tmp/echarts-map" --strip-components=1
d="$vendor/china-map-echarts-$ECHARTS_MAP"
python3 "$root/scripts/vendor_map.py" "$tmp/echarts-map" "$d"
cp "$tmp/echarts-map/LICENSE" "$d/LICENSE"

cat > "$vendor/VERSIONS.md" <<MD
# Vendored front-end assets

Refreshed by \`scripts/vendor.sh\` from the npm registry; served by the platform itself (no CDN).

| package | version | licence | files |
|---|---|---|---|
| bootstrap | $BOOTSTRAP | MIT | css/bootstrap.min.css, js/bootstrap.bundle.min.js (includes Popper) |
| htmx.org | $HTMX | 0BSD (Zero-Clause BSD) | htmx.min.js |
| echarts | $ECHARTS | Apache-2.0 | echarts.min.js |
| echarts (map data only) | $ECHARTS_MAP | Apache-2.0 | china-provinces.geojson, city-centres.json — decoded from map/json/china.json and china-cities.json by scripts/vendor_map.py |

The China map is ECharts 4.9.0's province outline data (the last release that shipped maps). It is adequate for a
choropleth on an internal dashboard; it is **not** a 标准地图 with a 审图号. A deployment that publishes maps must
replace \`china-provinces.geojson\` with the standard map issued by the national surveying authority
(自然资源部标准地图服务) in the same GeoJSON shape (properties \`adcode\`, \`name\`).
MD
fetch axe-core "$AXE"
d="$root/tests/browser/vendor/axe-core-$AXE"
rm -rf "$root/tests/browser/vendor" && mkdir -p "$d"
cp "$tmp/axe-core/axe.min.js" "$tmp/axe-core/LICENSE" "$tmp/axe-core/LICENSE-3RD-PARTY.txt" "$d/"

echo "vendored into $vendor and $root/tests/browser/vendor"
