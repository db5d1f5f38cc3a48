#!/usr/bin/env bash
# Checks that the C and C++ files of the tree are as clang-format leaves them (the files and the
# version: tools/cpp_files.sh). Lists every file that would change and exits 1; exits 0 when none
# would; 2 when clang-format is missing or of another version. Changes nothing.
# Usage: tools/check_format.sh [file ...]  (no argument: all); tools/format_cpp.sh applies the format.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cpp_files.sh
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(cpp_files); fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --style="file:$PWD/.clang-format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not clang-format $CLANG_FORMAT_MAJOR's format (tools/format_cpp.sh):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
