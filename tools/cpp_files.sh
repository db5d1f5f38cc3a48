# Sourced by tools/format_cpp.sh and tools/check_format.sh: the C and C++ files under .clang-format
# (every tracked *.c, *.h, *.cpp, *.hpp but the generated ones: the codec in firmware_sim/generated/
# and the OCV table that tools/gen_ocv_table.py writes), and the
# clang-format they use. One version for both: clang-format's output changes between major versions,
# so a tree formatted by one fails the check of another. Debian 12 ships 14
# (apt-get install clang-format); set CLANG_FORMAT to use another binary of the same major version.
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
CLANG_FORMAT_MAJOR=14
command -v "$CLANG_FORMAT" >/dev/null || { echo "$CLANG_FORMAT not found (apt-get install clang-format)" >&2; exit 2; }
found_major=$("$CLANG_FORMAT" --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p')
if [ "$found_major" != "$CLANG_FORMAT_MAJOR" ]; then
  echo "$CLANG_FORMAT is version ${found_major:-unknown}; the tree's format is clang-format $CLANG_FORMAT_MAJOR's" >&2
  exit 2
fi
cpp_files() { git ls-files -- '*.c' '*.h' '*.cpp' '*.hpp' ':!:firmware_sim/generated/*' ':!:cpp/src/battery/ocv_lgm50_chen2020.cpp'; }
