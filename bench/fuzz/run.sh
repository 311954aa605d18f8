#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 1m):
# go test -fuzz runs one target at a time, and CI does not fuzz, so this
# is how the parsers get their regular minute.
#
#   bash bench/fuzz/run.sh                 # every target, 1 minute each
#   FUZZTIME=20s bash bench/fuzz/run.sh ./queue/... ./smtp/...
#
# It prints one line per target (package, target, time, result) and exits
# non-zero when any target found a failure; the failing input is left
# under the package's testdata/fuzz/ by go test, as usual.
set -u
cd "$(dirname "$0")/../.."
fuzztime=${FUZZTIME:-1m}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
failed=0
for pkg in $(go list "${pkgs[@]}"); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    start=$(date +%s)
    if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" 2>&1); then
      result=ok
    else
      result=FAIL
      failed=1
      echo "$out" | tail -20
    fi
    printf '%-50s %-28s %4ss %s\n' "$pkg" "$target" "$(( $(date +%s) - start ))" "$result"
  done
done
exit $failed
