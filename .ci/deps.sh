# deps.sh — install the Debian packages wyn needs, if any is missing (sourced).
# Build: cmake, gcc, clang (TSan pass), Boost.Context's static archive, libunwind,
# valgrind's headers, strace (the no-mmap test). Benchmarks: Go and gnuplot.
wyn_packages="cmake make gcc clang libclang-rt-14-dev libboost-context-dev libunwind-dev valgrind strace pkg-config golang-go gnuplot-nox"
wyn_missing=""
for p in $wyn_packages; do
  dpkg -s "$p" >/dev/null 2>&1 || wyn_missing="$wyn_missing $p"
done
if [ -n "$wyn_missing" ]; then
  echo "installing:$wyn_missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $wyn_missing >/dev/null
fi
