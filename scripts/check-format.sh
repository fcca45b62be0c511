#!/usr/bin/env bash
# Fails when a tracked C++ source is not clang-formatted (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.cpp' 2>/dev/null || find src apps tests bench -name '*.h' -o -name '*.cc')
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f (run: clang-format -i $f)"
    bad=1
  fi
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "clang-format: ${#files[@]} files ok"
