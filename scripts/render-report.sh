#!/usr/bin/env bash
# Screenshots a chunkseq HTML report (from `chunkseq-sim`'s html module) to a
# PNG with headless Chromium, to look at a report without a desktop browser.
#
#   scripts/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT]
#
# The window defaults to 1400x2400; a taller page is cut off at the bottom.
# Needs `chromium` (Debian: apt-get install chromium) or CHROMIUM=/path/to/it.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
report=$1
out=$2
size=${3:-1400x2400}

if [ ! -f "$report" ]; then
    echo "error: report not found: $report" >&2
    exit 1
fi
if ! [[ "$size" =~ ^[0-9]+x[0-9]+$ ]]; then
    echo "error: size must be WIDTHxHEIGHT, got: $size" >&2
    exit 2
fi

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then
            browser=$candidate
            break
        fi
    done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
    echo "error: headless Chromium not found; install it (Debian: apt-get install -y chromium) or set CHROMIUM=/path/to/chromium" >&2
    exit 1
fi

abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$abs_out"

# Chromium logs harmless D-Bus and GPU noise on stderr; keep it for failures.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
    --window-size="${size/x/,}" --screenshot="$abs_out" "file://$abs_report" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: chromium failed to render $report" >&2
    exit 1
fi
if [ ! -s "$abs_out" ]; then
    cat "$log" >&2
    echo "error: chromium wrote no screenshot to $out" >&2
    exit 1
fi
echo "wrote $out"
