#!/usr/bin/env bash
# Install wyn from a build directory into a temporary prefix, then build and
# run a program outside the tree against it: with pkg-config (static and
# shared) and with CMake's find_package(wyn).  Usage: check.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig
# --static adds Libs.private (Boost.Context's archive, libunwind); the linker
# still prefers libwyn.so when both are installed, as with any pkg-config package.
cc -std=c11 -o "$tmp/consumer_pc_static" "$here/consumer.c" $(pkg-config --cflags --libs --static wyn)
LD_LIBRARY_PATH=$tmp/prefix/lib "$tmp/consumer_pc_static"
# A fully static libwyn link from the same flags.
cc -std=c11 -o "$tmp/consumer_pc_archive" "$here/consumer.c" $(pkg-config --cflags wyn) \
  "$tmp/prefix/lib/libwyn.a" $(pkg-config --libs-only-other --static wyn) \
  $(pkg-config --static --libs wyn | tr ' ' '\n' | grep -v -- '-lwyn' | tr '\n' ' ')
"$tmp/consumer_pc_archive"
cc -std=c11 -o "$tmp/consumer_pc_shared" "$here/consumer.c" $(pkg-config --cflags --libs wyn) \
  -Wl,-rpath,"$tmp/prefix/lib"
"$tmp/consumer_pc_shared"
# No fcontext symbol may leak from the shared library.
if nm -D --defined-only "$tmp/prefix/lib/libwyn.so" | awk '{print $3}' | grep -v '^wyn_' | grep -q .; then
  echo "libwyn.so exports non-wyn symbols:"; nm -D --defined-only "$tmp/prefix/lib/libwyn.so" | grep -v ' wyn_'
  exit 1
fi
cmake -S "$here" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH=$tmp/prefix/lib "$tmp/cm/consumer_cmake"
"$tmp/cm/consumer_cmake_static"
echo "install check: pkg-config (static, shared) and find_package(wyn) ok"
