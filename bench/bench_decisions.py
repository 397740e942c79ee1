"""The claim decisions on studies drawn from known truths: the simulation table.

Every scenario of :mod:`gilwatt.analysis.simulate` (no effect, opposite effects, a large
contention effect, an equivalence case, one noisy cell, 2 and 16 usable CPUs) is drawn
``--draws`` times at the quick suite's 3 replicates and judged by the decision function that
``gilwatt compare`` calls; the table gives, per claim, the expected verdict, the share of draws
decided, the share right among the decided, and every verdict's share. Then the issue's checks.

    .venv/bin/python bench/bench_decisions.py                 # 1000 draws per scenario
    .venv/bin/python bench/bench_decisions.py --replicates 5  # the same truths at 5 replicates
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from gilwatt.analysis import simulate as sim

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tallies = []
    for scenario in sim.SCENARIOS:
        scenario = dataclasses.replace(scenario, replicates=args.replicates)
        tallies.append(sim.run(scenario, draws=args.draws, seed=args.seed))
    elapsed = time.perf_counter() - start
    print(f"{args.draws} draws per scenario, {args.replicates} replicates, seed {args.seed}")
    print("\n".join(sim.table(tallies)))
    failed = 0
    print("\nchecks:")
    for tally in tallies:
        for what, held in sim.criteria(tally):
            failed += not held
            if not held or args.replicates == 3:
                print(f"  {'ok  ' if held else 'FAIL'} {tally.scenario.name}: {what}")
    print(f"\n{len(tallies) * args.draws} studies judged in {elapsed:.1f} s")
    return 1 if failed and args.replicates == 3 else 0


if __name__ == "__main__":
    sys.exit(main())
