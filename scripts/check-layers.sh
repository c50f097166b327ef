#!/usr/bin/env bash
# Fails when a layer includes a header from a layer it must not depend on (docs/architecture.md):
#   quant -> nothing; formats -> quant; core -> quant, formats;
#   backends/X -> core, quant, backends/registry.h; convert -> formats, quant, core.
set -euo pipefail
cd "$(dirname "$0")/.."

allowed() {
  case "$1" in
    quant) echo "quant" ;;
    formats) echo "formats quant" ;;
    core) echo "core quant formats" ;;
    backends/cpu) echo "backends/cpu core quant backends/registry.h" ;;
    backends/cuda) echo "backends/cuda core quant backends/registry.h" ;;
    backends/vulkan) echo "backends/vulkan core quant backends/registry.h" ;;
    convert) echo "convert formats quant core" ;;
  esac
}

bad=0
for layer in quant formats core backends/cpu backends/cuda backends/vulkan convert; do
  [ -d "$layer" ] || continue
  ok=$(allowed "$layer")
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    top=${inc%%/*}
    [ "$top" = "$inc" ] && continue               # same-folder include
    case "$top" in quant|formats|core|backends|convert|examples|tests|bench) ;; *) continue ;; esac
    pass=0
    for a in $ok; do
      case "$inc" in "$a"|"$a"/*) pass=1 ;; esac
    done
    if [ $pass -eq 0 ]; then echo "layering: $file includes \"$inc\" but $layer may only use: $ok"; bad=1; fi
  done < <(grep -rHE '^\s*#\s*include "' "$layer" --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' || true)
done
[ $bad -eq 0 ] && echo "layering: every include follows the layer arrows"
exit $bad
