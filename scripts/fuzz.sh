#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built by `make fuzz` into build-fuzz/fuzz_<name>),
# each for a bounded time, a few at a time, starting from the seeds in
# tests/fuzz/corpus/<name>/ (never written to). New inputs go to $FUZZ_CORPUS/<name>/
# (default build-fuzz/corpus: kept, so runs by hand build on each other); a crash is saved
# as build-fuzz/crashes/<name>-crash-<sha1> (reproduce: build-fuzz/fuzz_<name> FILE).
#   scripts/fuzz.sh [-t SECONDS] [-j PARALLEL] [NAME...]   (default: 20 s, 2 at a time, all)
# Prints "ok   fuzz NAME: ..." or "FAIL fuzz NAME: ..." per target; exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
secs=20
par=2
while getopts "t:j:" o; do
  case $o in
    t) secs=$OPTARG ;;
    j) par=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [-j PARALLEL] [NAME...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in tests/fuzz/*.c; do names+=("$(basename "$f" .c)"); done
fi
corpus=${FUZZ_CORPUS:-$BUILD_FUZZ/corpus}
crashes=$BUILD_FUZZ/crashes
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
mkdir -p "$crashes"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# one NAME: the fuzzer's whole output in $logs/NAME.txt, its exit code in $logs/NAME.rc
run_one() {
  local n=$1 bin=$BUILD_FUZZ/fuzz_$1
  if [ ! -x "$bin" ]; then
    echo "no $bin (make fuzz)" >"$logs/$n.txt"; echo 127 >"$logs/$n.rc"; return
  fi
  mkdir -p "$corpus/$n"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/$n-" "$corpus/$n" "tests/fuzz/corpus/$n" >"$logs/$n.txt" 2>&1
  echo $? >"$logs/$n.rc"
}

running=0
for n in "${names[@]}"; do
  if [ "$running" -ge "$par" ]; then wait -n; running=$((running - 1)); fi
  run_one "$n" &
  running=$((running + 1))
done
wait

failed=0
for n in "${names[@]}"; do
  rc=$(cat "$logs/$n.rc" 2>/dev/null || echo 1)
  runs=$(grep -E '^stat::number_of_executed_units:' "$logs/$n.txt" | awk '{print $2}')
  if [ "$rc" -eq 0 ]; then
    echo "ok   fuzz $n: ${runs:-?} inputs in ${secs} s"
  else
    failed=1
    echo "FAIL fuzz $n (exit $rc)"
    grep -E 'broken promise|ERROR:|SUMMARY|runtime error|Test unit written|no .*make fuzz' \
      "$logs/$n.txt" | head -n 20
  fi
done
exit $failed
