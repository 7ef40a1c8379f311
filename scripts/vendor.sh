#!/usr/bin/env bash
# Refresh the vendored front-end assets in infocity/static/vendor/ from the npm registry.
# The files are committed, so `make run` never needs npm or the network; run this only to upgrade,
# after changing a version below. Each package keeps its licence beside its files.
set -euo pipefail

BOOTSTRAP=5.3.8
HTMX=2.0.11

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

cat > "$vendor/VERSIONS.md" <<MD
# Vendored front-end assets

Refreshed by \`scripts/vendor.sh\` from the npm registry; served by the platform itself (no CDN).

| package | version | licence | files |
|---|---|---|---|
| bootstrap | $BOOTSTRAP | MIT | css/bootstrap.min.css, js/bootstrap.bundle.min.js (includes Popper) |
| htmx.org | $HTMX | 0BSD (Zero-Clause BSD) | htmx.min.js |
MD
echo "vendored into $vendor"
