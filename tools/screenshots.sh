#!/usr/bin/env bash
# Open built docs pages in headless Chromium and save a PNG of each, to check the site as a reader sees it.
#   bash tools/screenshots.sh [page.html[#anchor] ...]   (default: every page in _docs/, and the tutorial's plots)
# A page with an #anchor is shot scrolled to that heading: tutorial.html#the-results-table -> tutorial-the-results-table.png
# Needs Debian's chromium (apt-get install chromium); PNGs go to _docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${DOCS:-_docs}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "screenshots: no chromium on PATH (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
[ -f "$DOCS/index.html" ] || { echo "screenshots: $DOCS/index.html missing; run 'make docs' first" >&2; exit 1; }
# The tutorial is long; its curves and results plot sit far below the top, so they get shots of their own.
TUTORIAL_SHOTS=(tutorial.html#fine-tuning-the-teacher tutorial.html#distillation tutorial.html#the-results-table)
pages=("$@")
if [ ${#pages[@]} -eq 0 ]; then
  pages=($(cd "$DOCS" && ls *.html))
  [ -f "$DOCS/tutorial.html" ] && pages+=("${TUTORIAL_SHOTS[@]}")
fi
mkdir -p "$DOCS/screenshots"
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
for page in "${pages[@]}"; do
  file=${page%%#*}; anchor=${page#"$file"}; anchor=${anchor#\#}
  out="$DOCS/screenshots/${file%.html}${anchor:+-$anchor}.png"
  # The flags keep Chromium off the network (this machine has none) and out of the user's profile.
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --hide-scrollbars \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --window-size=1280,${HEIGHT:-2000} --virtual-time-budget=3000 \
    --screenshot="$PWD/$out" "file://$PWD/$DOCS/$file${anchor:+#$anchor}" >/dev/null 2>&1
  [ -s "$out" ] || { echo "screenshots: Chromium wrote no image for $page" >&2; exit 1; }
  [ -z "$anchor" ] || grep -q "id=\"$anchor\"" "$DOCS/$file" || { echo "screenshots: $file has no heading #$anchor" >&2; exit 1; }
  echo "screenshots: $out"
done
