#!/usr/bin/env bash
# Formats the C and C++ files of the tree in place with clang-format and .clang-format (the files
# and the version: tools/cpp_files.sh). Usage: tools/format_cpp.sh [file ...]  (no argument: all).
# After it, tools/check_format.sh passes; rebuild and run ctest before committing the result.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cpp_files.sh
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(cpp_files); fi
"$CLANG_FORMAT" -i --style="file:$PWD/.clang-format" "${files[@]}"
echo "format_cpp: ${#files[@]} files formatted with $("$CLANG_FORMAT" --version)"
