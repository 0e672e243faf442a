"""Where a workload's time goes, by op type: ``python -m bench.profile W3 [--repeat 2]``.

Runs one workload on numflow with every executor step timed (Session and tf.function
plans alike) and prints each op type's share of the kernel time, calls and milliseconds
per call, after the workload's own numbers. Timing wraps each kernel, which holds an extra
reference to its arguments, so in-place buffer reuse (runtime/passes/inplace.py) does not
fire: elementwise ops read a little slower than in the benchmark itself. Eager ops outside
plans are not counted.
"""
import argparse
import collections
import time

from bench.workloads import WORKLOADS


def profile(workload, repeat=2, top=20):
    """Runs ``workload`` on numflow; returns (its records, {op type: [seconds, calls]})."""
    import numflow
    from numflow.runtime import executor
    totals = collections.defaultdict(lambda: [0.0, 0])

    def timed(fn, op_type):
        cell = totals[op_type]

        def run(*args):
            start = time.perf_counter()
            try:
                return fn(*args)
            finally:
                cell[0] += time.perf_counter() - start
                cell[1] += 1
        return run

    original = executor.execute

    def execute(steps, vals):
        return original([(timed(fn, getattr(node, "type", type(node).__name__)), get, outs,
                          free, node) for fn, get, outs, free, node in steps], vals)

    executor.execute = execute
    try:
        records = WORKLOADS[workload](numflow, repeat)
    finally:
        executor.execute = original
    return records, dict(sorted(totals.items(), key=lambda kv: -kv[1][0])[:top])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args(argv)
    records, totals = profile(args.workload, args.repeat, args.top)
    for metric, values, unit in records:
        print(f"{metric}: {', '.join(f'{v:,.4g}' for v in values)} {unit}")
    total = sum(t for t, _ in totals.values()) or 1.0
    print(f"{'op type':<36} {'seconds':>8} {'share':>6} {'calls':>7} {'ms/call':>8}")
    for op_type, (seconds, calls) in totals.items():
        print(f"{op_type:<36} {seconds:8.3f} {100 * seconds / total:5.1f}% {calls:7d} "
              f"{1e3 * seconds / calls:8.3f}")


if __name__ == "__main__":
    main()
