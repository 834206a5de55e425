#!/usr/bin/env bash
# Renders an HTML report (or an SVG figure) with headless Chromium into a PNG screenshot, so a
# person can look at what `ser train` (report.html) or `ser explain` (.svg) produced.
# Usage: tests/render/render_report.sh INPUT.html|INPUT.svg OUT.png [WIDTH HEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 INPUT.html|INPUT.svg OUT.png [WIDTH HEIGHT]" >&2; exit 2; fi
input=$(realpath "$1")
out=$2
width=${3:-1280}
height=${4:-2400}
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -f "$input" ] || { echo "$0: $1 does not exist" >&2; exit 1; }
command -v "$chromium" >/dev/null || { echo "$0: $chromium not found (set CHROMIUM)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
tmp="$out.tmp$$.png"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --screenshot="$(realpath -m "$tmp")" \
  --window-size="$width,$height" "file://$input" >/dev/null 2>&1
[ -s "$tmp" ] || { echo "$0: chromium wrote no screenshot" >&2; exit 1; }
mv "$tmp" "$out"
echo "$out"
