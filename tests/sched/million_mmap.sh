#!/bin/sh
# million_mmap.sh — once the pools are warm, a million spawns map no memory.
#
# Runs tests/sched/million under strace and counts the mmap calls made after
# its warm-up round (the first million, which builds the workload's largest
# load; see million.c). Any mmap in the free-running rounds fails the test:
# a pool that is not reused, or a buffer that grows with the spawner's worker
# rather than with the peak of queued work. Usage: million_mmap.sh <test exe>
set -eu
exe=$1
log=$(mktemp "${TMPDIR:-/tmp}/wyn-million-strace.XXXXXX")
trap 'rm -f "$log"' EXIT
# million itself runs only at WYN_TEST_SCALE >= 1 (test.h: unset or <= 0 is 1);
# the sanitizer passes run smaller, and their leak checker cannot run under
# strace (it needs ptrace itself), so they stop here.
if awk 'BEGIN { s = ENVIRON["WYN_TEST_SCALE"] + 0; exit !(s > 0 && s < 1) }'; then
  echo "skipped at this scale (as million itself)"
  exit 77   # ctest: SKIP_RETURN_CODE
fi
command -v strace >/dev/null || { echo "million_mmap: strace is not installed"; exit 1; }
# --seccomp-bpf: only the traced calls stop the tracee (the futex traffic runs
# free); where the filter cannot be installed, trace without it (slower).
fast=--seccomp-bpf
if ! strace -f $fast -qq -e trace=none true 2>/dev/null; then
  fast=
  if ! strace -f -qq -e trace=none true 2>/dev/null; then
    echo "million_mmap: this machine does not let strace trace (ptrace refused): not checked"
    exit 77
  fi
fi
strace -f $fast -qq -e trace=mmap,write -o "$log" "$exe"
grep -q 'million: done' "$log" || { echo "million_mmap: the test did not finish"; exit 1; }
# From the second round's marker to the end marker (the test's own printf
# after it allocates stdout's buffer).
rounds='/million: second round/ { on = 1 } /million: done/ { on = 0 }'
warm=$(awk "$rounds"' on && / mmap\(/ { n++ } END { print n + 0 }' "$log")
echo "mmap calls after the warm-up round: $warm"
if [ "$warm" -ne 0 ]; then
  awk "$rounds"' on && / mmap\(/' "$log"
  exit 1
fi
echo ok
