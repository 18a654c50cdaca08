"""Save the plan of every combination, the baseline `tests/test_plan_snapshots.py` holds code to.

    PYTHONPATH=$PWD .venv/bin/python tools/plan_snapshot.py           # rewrite all
    PYTHONPATH=$PWD .venv/bin/python tools/plan_snapshot.py --check   # compare, print what moved

Rewriting is for an intended change of plan only (issue 13: a refactor moves no resource).
"""

from __future__ import annotations

import argparse
import sys

from tests import plan_guard


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare with the saved plans, do not write")
    args = parser.parse_args()
    plans = [(stack, lambda s=stack: plan_guard.shipped_plan(s)) for stack in plan_guard.SHIPPED]
    plans += [
        (name, lambda c=case: plan_guard.case_plan(c))
        for name, case in zip(plan_guard.CASE_IDS, plan_guard.CASES, strict=True)
    ]
    plans += [(name, lambda n=name: plan_guard.extra_plan(n)) for name in plan_guard.EXTRA]
    moved = 0
    for name, make in plans:
        plan = make()
        if args.check:
            problems = plan_guard.differences(plan_guard.read(name), plan)
            moved += len(problems)
            for line in problems:
                print(f"{name}: {line}")
        else:
            plan_guard.write(name, plan)
    if args.check:
        print(f"{len(plans)} plans checked, {moved} resources moved")
        return 1 if moved else 0
    print(f"{len(plans)} plans written to {plan_guard.SNAPSHOT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
