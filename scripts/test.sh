#!/usr/bin/env bash
# Runs every test: C unit tests and the store contract suite on SQLite and on a throwaway
# PostgreSQL cluster (scripts/pg.sh) (normal, ASan+UBSan and ThreadSanitizer builds), the
# fuzz targets for FUZZ_SECONDS each (default 20, two at a time; scripts/fuzz.sh),
# the API tests (Node's test runner against a real server) on SQLite and on PostgreSQL
# (a fresh database per server in the same throwaway cluster; the multi-process tests on
# PostgreSQL only), cppcheck and the format check.
# Prints one closing line "tests: N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD_SAN=${BUILD_SAN:-build-san}
BUILD_TSAN=${BUILD_TSAN:-build-tsan}
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# ThreadSanitizer: a report fails the program (exit 66), every report of a run is shown
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1}
passed=0
failed=0
failures=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: runs a C test program, adds its "N passed, N failed" line to the totals
run_c() {
  local name=$1; shift
  local out="$tmp/out.txt"
  "$@" >"$out" 2>&1
  local rc=$?
  local last
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$last" ]; then
    echo "FAIL $name: no summary line (exit $rc)"; tail -n 30 "$out"
    failed=$((failed + 1)); failures+=("$name"); return
  fi
  local p f
  p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
  f=$(echo "$last" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
    echo "FAIL $name ($last, exit $rc)"; grep -E 'FAIL|ERROR|runtime error|Sanitizer' "$out" | head -n 40
    [ "$f" -eq 0 ] && failed=$((failed + 1))
    failures+=("$name")
  else
    echo "ok   $name: $last"
  fi
}

# the tag of a build dir in the test names
tag_of() {
  case $1 in
    "$BUILD_SAN") echo " [asan+ubsan]" ;;
    "$BUILD_TSAN") echo " [tsan]" ;;
    *) echo "" ;;
  esac
}
# the TSan build is part of every run (make test builds it): missing, it fails
if [ ! -x "$BUILD_TSAN/contract" ]; then
  echo "FAIL tsan: $BUILD_TSAN is not built (make tsan)"; failed=$((failed + 1)); failures+=(tsan)
fi

for dir in "$BUILD" "$BUILD_SAN" "$BUILD_TSAN"; do
  tag=$(tag_of "$dir")
  for t in "$dir"/unit_*; do
    [ -x "$t" ] || continue
    run_c "$(basename "$t")$tag" "$t"
  done
  if [ -x "$dir/contract" ]; then
    run_c "contract sqlite$tag" "$dir/contract" "$tmp/contract-$(basename "$dir").db"
  fi
done

# the contract suite on PostgreSQL: a throwaway cluster (its own temp dir: the postgres
# user must reach the socket), a fresh database per build
pgdir=$(mktemp -d)
pg_up=0
trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1; rm -rf "$tmp" "$pgdir"' EXIT
if [ -x "$BUILD/contract" ] || [ -x "$BUILD_SAN/contract" ] || [ -x "$BUILD_TSAN/contract" ]; then
  if scripts/pg.sh start "$pgdir" >"$tmp/pg.txt" 2>&1; then
    pg_up=1
    n=0
    for dir in "$BUILD" "$BUILD_SAN" "$BUILD_TSAN"; do
      [ -x "$dir/contract" ] || continue
      tag=$(tag_of "$dir")
      n=$((n + 1))
      if url=$(scripts/pg.sh newdb "$pgdir" "contract$n" 2>>"$tmp/pg.txt"); then
        run_c "contract postgres$tag" "$dir/contract" "$url"
      else
        echo "FAIL contract postgres$tag: cannot create a database"; tail -n 20 "$tmp/pg.txt"
        failed=$((failed + 1)); failures+=("contract postgres$tag")
      fi
    done
  else
    echo "FAIL postgres: cannot start a cluster"; tail -n 30 "$tmp/pg.txt"
    failed=$((failed + 1)); failures+=(postgres)
  fi
fi

# the fuzz targets (make fuzz), each for FUZZ_SECONDS from its seeds (a fresh corpus per
# run): one test each, failing on a crash, a leak, undefined behaviour or a broken promise
if compgen -G "$BUILD_FUZZ/fuzz_*" >/dev/null; then
  FUZZ_CORPUS="$tmp/fuzz-corpus" BUILD_FUZZ="$BUILD_FUZZ" scripts/fuzz.sh -t "$FUZZ_SECONDS" \
    >"$tmp/fuzz.txt" 2>&1
  cat "$tmp/fuzz.txt"
  fp=$(grep -c '^ok   fuzz ' "$tmp/fuzz.txt")
  ff=$(grep -c '^FAIL fuzz ' "$tmp/fuzz.txt")
  passed=$((passed + fp)); failed=$((failed + ff))
  [ "$ff" -gt 0 ] && failures+=(fuzz)
  [ "$fp" -eq 0 ] && [ "$ff" -eq 0 ] && { failed=$((failed + 1)); failures+=(fuzz); }
else
  echo "FAIL fuzz: no fuzz targets in $BUILD_FUZZ (make fuzz)"; failed=$((failed + 1)); failures+=(fuzz)
fi

# static checks count as tests: they can fail
if command -v cppcheck >/dev/null; then
  if make -s lint >"$tmp/cppcheck.txt" 2>&1; then
    echo "ok   cppcheck"; passed=$((passed + 1))
  else
    echo "FAIL cppcheck"; cat "$tmp/cppcheck.txt"; failed=$((failed + 1)); failures+=(cppcheck)
  fi
fi
if command -v clang-format >/dev/null; then
  if clang-format --dry-run -Werror $(git ls-files '*.c' '*.h') >"$tmp/fmt.txt" 2>&1; then
    echo "ok   clang-format"; passed=$((passed + 1))
  else
    echo "FAIL clang-format"; head -n 20 "$tmp/fmt.txt"; failed=$((failed + 1)); failures+=(clang-format)
  fi
fi

# API tests: a real server per test file, started by tests/api/harness.mjs
# (again when package-lock.json changed since: npm records what it installed in
# node_modules/.package-lock.json)
if [ -f package-lock.json ] && { [ ! -f node_modules/.package-lock.json ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund >/dev/null || { echo "FAIL npm ci"; failed=$((failed + 1)); }
fi
# the API test files; multiproc.test.mjs runs several roster processes on one store, which
# only PostgreSQL allows: it runs in the PostgreSQL pass only (on SQLite it would fail)
api_pg=(tests/api/*.test.mjs)
api_sqlite=()
for f in "${api_pg[@]}"; do
  [ "$(basename "$f")" = multiproc.test.mjs ] || api_sqlite+=("$f")
done
# run_api LABEL "FILES" [ENV=VALUE...]: runs these API test files, adds their pass/fail counts
run_api() {
  local name=$1 files=$2; shift 2
  local out="$tmp/api.txt"
  # shellcheck disable=SC2086 # FILES is a space-separated list of paths without spaces
  env ROSTER_BIN="$PWD/$BUILD/roster" "$@" node --test --test-concurrency=1 $files >"$out" 2>&1
  local rc=$?
  echo "-- $name"
  grep -E '^(not ok|ok|# )' "$out" | grep -vE '^# (Subtest|duration_ms|todo|cancelled|start)' | tail -n 200
  local ap af ac as
  ap=$(grep -E '^# pass ' "$out" | tail -n 1 | awk '{print $3}')
  af=$(grep -E '^# fail ' "$out" | tail -n 1 | awk '{print $3}')
  ac=$(grep -E '^# cancelled ' "$out" | tail -n 1 | awk '{print $3}')
  as=$(grep -E '^# skipped ' "$out" | tail -n 1 | awk '{print $3}')
  passed=$((passed + ${ap:-0})); failed=$((failed + ${af:-0} + ${ac:-0} + ${as:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$ap" ]; then
    # the failing tests at every depth (a suite's "not ok" says only that a subtest failed)
    echo "FAIL $name (exit $rc)"; grep -B2 -A25 -E '^ *not ok' "$out" | grep -vE '^ +at ' | head -n 200
    [ -z "$ap" ] && failed=$((failed + 1))
    failures+=("$name")
  else
    echo "ok   $name: ${ap} passed, ${af:-0} failed"
  fi
}
run_api "api sqlite" "${api_sqlite[*]}"
# the same suite on PostgreSQL, in the contract suite's cluster (started here if it was not)
if [ "$pg_up" -eq 0 ] && scripts/pg.sh start "$pgdir" >>"$tmp/pg.txt" 2>&1; then pg_up=1; fi
if [ "$pg_up" -eq 1 ]; then
  run_api "api postgres" "${api_pg[*]}" ROSTER_TEST_STORE=postgres ROSTER_TEST_PG_DIR="$pgdir"
else
  echo "FAIL api postgres: cannot start a cluster"; tail -n 30 "$tmp/pg.txt"
  failed=$((failed + 1)); failures+=("api postgres")
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
