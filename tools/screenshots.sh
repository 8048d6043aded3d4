#!/usr/bin/env bash
# Open built docs pages in headless Chromium and save a PNG of each, to check the site as a reader sees it.
#   bash tools/screenshots.sh [page.html ...]     (default: every page in _docs/; tutorial.html whole, in a tall window)
# Needs Debian's chromium (apt-get install chromium); PNGs go to _docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${DOCS:-_docs}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "screenshots: no chromium on PATH (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
[ -f "$DOCS/index.html" ] || { echo "screenshots: $DOCS/index.html missing; run 'make docs' first" >&2; exit 1; }
# The tutorial is long and its curves and results plot sit far below the top: it is shot whole, in a tall window.
TALL_HEIGHT=${TALL_HEIGHT:-16000}
pages=("$@"); [ ${#pages[@]} -gt 0 ] || pages=($(cd "$DOCS" && ls *.html))
mkdir -p "$DOCS/screenshots"
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
for page in "${pages[@]}"; do
  out="$DOCS/screenshots/${page%.html}.png"
  height=${HEIGHT:-2000}; [ "$page" != tutorial.html ] || height=$TALL_HEIGHT
  # The flags keep Chromium off the network (this machine has none) and out of the user's profile.
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --hide-scrollbars \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --window-size=1280,$height --virtual-time-budget=3000 \
    --screenshot="$PWD/$out" "file://$PWD/$DOCS/$page" >/dev/null 2>&1
  [ -s "$out" ] || { echo "screenshots: Chromium wrote no image for $page" >&2; exit 1; }
  echo "screenshots: $out"
done
