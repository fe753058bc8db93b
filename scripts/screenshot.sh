#!/usr/bin/env bash
# Screenshot of a rendered page with headless Chromium (Debian: apt-get install chromium).
#
#   scripts/screenshot.sh _book/index.html _book/screenshots/index.png [WIDTHxHEIGHT]
#
# The flags keep Chromium off the network (this machine has none) and out of
# the user's profile.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 PAGE.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
page=$1
out=$2
size=${3:-1280x2400}

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "no chromium found: install it (Debian: apt-get install -y chromium)" >&2
    exit 1
fi
if [ ! -f "$page" ]; then
    echo "no such page: $page (run make book first)" >&2
    exit 1
fi

abs_page=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT

"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$profile_dir" --window-size="${size/x/,}" \
    --screenshot="$abs_out" "file://$abs_page" >/dev/null 2>&1
test -s "$abs_out"
echo "$abs_out"
