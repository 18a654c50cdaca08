#!/usr/bin/env bash
# Mutation testing of the safety core with mutmut (pinned in the dev extra).
#
#   tools/mutation.sh              every module below, one after the other
#   tools/mutation.sh cutover/plan.py infra/config.py
#   tools/mutation.sh --changed-since origin/main
#                                  only the modules whose source, tests or test helpers differ
#                                  from that git ref (or are new), e.g. in a CI job on a change
#
# Each module runs in its own scratch copy of the work tree (mutmut rewrites the sources it
# mutates), with one worker (MUTATION_WORKERS=n for more) and only that module's tests, and prints its score and every
# surviving mutant. Score = killed / (mutants - skipped - listed as equivalent in
# tools/mutation-equivalent.txt). Too slow for every CI run (minutes per module): run it when
# one of these modules or its tests change, or on a schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
EQUIVALENT=$ROOT/tools/mutation-equivalent.txt
THRESHOLD=${MUTATION_THRESHOLD:-90}
WORKERS=${MUTATION_WORKERS:-1}

declare -A TESTS=(
  [cutover/plan.py]="tests/cutover/test_cutover_plan.py tests/cutover/test_cutover_properties.py"
  [cutover/journal.py]="tests/cutover/test_cutover_journal.py"
  # rotate-key shares the runner's StackRun (sides, polling, step audit, action loop, undo).
  [cutover/runner.py]="tests/cutover/test_cutover_runner.py tests/cutover/test_cutover_journal.py tests/cutover/test_cutover_properties.py tests/cutover/test_rotate_key.py"
  [infra/config.py]="tests/infra/test_config.py tests/infra/test_config_limits.py tests/infra/test_config_vault.py tests/infra/test_config_s3store.py"
  # The settings table (key, type, default, limits) that infra/config.py validates against.
  [infra/settings.py]="tests/infra/test_config.py tests/infra/test_config_limits.py tests/infra/test_config_vault.py tests/infra/test_config_s3store.py"
  # Not tests/components/test_powerdns_dns.py: its plan tests take 20-70 s each and reach every
  # function here, so each mutant would cost minutes; test_dns_args.py checks the PowerDNS
  # agreement and the endpoint addresses directly.
  [components/dns/args.py]="tests/components/test_dns_args.py"
)
ORDER=(cutover/plan.py cutover/journal.py cutover/runner.py infra/config.py infra/settings.py components/dns/args.py)
# Files a module's tests import besides the module (a change there can change the score too).
declare -A HELPERS=(
  [cutover/plan.py]="tests/cutover/cutover_model.py"
  [cutover/runner.py]="tests/cutover/cutover_model.py"
)

if [ ! -x "$VENV/bin/mutmut" ]; then
  echo "mutmut is not installed: run tools/dev.sh test once (it installs the dev extra)" >&2
  exit 2
fi
modules=()
if [ "${1:-}" = "--changed-since" ]; then
  if [ $# -ne 2 ]; then
    echo "usage: tools/mutation.sh --changed-since <git ref>" >&2
    exit 2
  fi
  changed=$({ git diff --name-only "$2" --; git ls-files -o --exclude-standard; } | sort -u)
  for module in "${ORDER[@]}"; do
    for path in "$module" ${TESTS[$module]} ${HELPERS[$module]:-} tools/mutation.sh tools/mutation-equivalent.txt; do
      if grep -qxF -e "$path" <<<"$changed"; then
        modules+=("$module")
        break
      fi
    done
  done
  if [ ${#modules[@]} -eq 0 ]; then
    echo "no safety-core module, its tests or tools/mutation.sh changed since $2: nothing to run"
    exit 0
  fi
else
  modules=("$@")
  [ ${#modules[@]} -gt 0 ] || modules=("${ORDER[@]}")
fi

summary=()
status=0
for module in "${modules[@]}"; do
  tests=${TESTS[$module]:-}
  if [ -z "$tests" ]; then
    echo "unknown module '$module': one of ${ORDER[*]}" >&2
    exit 2
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/mutation.XXXXXX")
  # The work tree as it is (tracked and new files), without bulky or machine-local folders.
  git ls-files -co --exclude-standard | grep -v -e '^tools/node_modules' -e '^\.venv' \
    | tar -cf - -T - | tar -xf - -C "$work"
  {
    echo "[mutmut]"
    echo "source_paths ="
    echo "    ${module%%/*}/"
    echo "only_mutate ="
    echo "    $module"
    echo "also_copy ="
    for extra in infra/ offline/ components/ cutover/ Pulumi.yaml Pulumi.primary.yaml Pulumi.standby.yaml; do
      echo "    $extra"
    done
    echo "pytest_add_cli_args_test_selection ="
    for t in $tests; do
      [ -f "$work/$t" ] && echo "    $t"
    done
    # The tests start Pulumi's gRPC mock engine, which is not fork-safe: fork workers from a
    # clean server process, not from the one that ran the suite.
    echo "process_isolation = forkserver"
    echo "pytest_add_cli_args ="
    echo "    -p"
    echo "    no:cacheprovider"
    echo "    -q"
  } >"$work/setup.cfg"
  echo "== $module (tests: $tests)"
  (
    cd "$work"
    # Fewer generated examples per property test: each mutant re-runs the tests that reach it.
    export CUTOVER_PROPERTY_EXAMPLES=${CUTOVER_PROPERTY_EXAMPLES:-6}
    export CUTOVER_PROPERTY_NO_SHRINK=1
    PYTHONPATH="$work" "$VENV/bin/mutmut" run --max-children "$WORKERS" >"$work/run.log" 2>&1 || {
      tail -n 40 "$work/run.log" >&2
      exit 1
    }
    PYTHONPATH="$work" "$VENV/bin/mutmut" results --all true >"$work/results.txt" 2>/dev/null
    # Every mutant that was not killed, as a diff, for whoever writes the test that kills it.
    mkdir -p "$ROOT/.mutation"
    report="$ROOT/.mutation/${module//\//_}.survivors.txt"
    : >"$report"
    grep -v -e ': killed$' -e ': timeout$' "$work/results.txt" | sed 's/:[^:]*$//' | while read -r name; do
      PYTHONPATH="$work" "$VENV/bin/mutmut" show "$name" >>"$report" 2>&1 || true
    done
  ) || {
    status=1
    summary+=("$module: mutmut failed (see $work/run.log)")
    continue
  }
  line=$("$VENV/bin/python" - "$work/results.txt" "$EQUIVALENT" "$module" "$THRESHOLD" <<'PY'
import sys
from collections import Counter
from pathlib import Path

results, equivalent_file, module, threshold = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
equivalent = {}
if equivalent_file.exists():
    for raw in equivalent_file.read_text().splitlines():
        name, _, reason = raw.partition("#")
        if name.strip():
            equivalent[name.strip()] = reason.strip()
status = {}
for raw in Path(results).read_text().splitlines():
    name, _, state = raw.strip().rpartition(": ")
    if name:
        status[name] = state
counts = Counter(status.values())
skipped = counts["skipped"] + counts["not checked"]
listed = [n for n, s in status.items() if n in equivalent and s != "killed"]
killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
scored = len(status) - skipped - len(listed)
score = 100.0 * killed / scored if scored else 100.0
survivors = sorted(n for n, s in status.items() if s not in ("killed", "timeout", "caught by type check", "skipped", "not checked") and n not in equivalent)
for name in survivors:
    print(f"   survived ({status[name]}): {name}", file=sys.stderr)
print(
    f"{module}: {score:.1f}% ({killed} killed of {scored}; {len(listed)} listed equivalent, "
    f"{len(survivors)} surviving)" + ("" if score >= threshold else f"  BELOW {threshold:g}%")
)
sys.exit(0 if score >= threshold else 3)
PY
  ) || status=1
  echo "$line"
  echo "   (diffs of the surviving mutants: .mutation/${module//\//_}.survivors.txt)"
  summary+=("$line")
  rm -rf "$work"
done

echo
echo "== mutation scores"
printf '%s\n' "${summary[@]}"
exit $status
