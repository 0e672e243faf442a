"""Turn benchmark JSON lines into docs/benchmarks.md's tables.

    python -m bench.report bench/results/run.jsonl > docs/benchmarks.md

Keeps the last record per (workload, metric, fw); cells are median (min-max); ratios are
numflow / peer for rates (higher is better) and peer / numflow for times (lower is better),
so a ratio >= 1 always means numflow is at least as good.
"""
import json
import platform
import sys

LOWER_IS_BETTER = ("us", "ms", "s", "MB")


def _fmt(r):
    if "error" in r:
        return "error"
    f = lambda v: f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{f(r['median'])} ({f(r['min'])}-{f(r['max'])})" + (" †" if r.get("foreign_cpu", 0) >= 0.25 else "")


def main(paths):
    last = {}
    for p in paths:
        for line in open(p):
            if line.strip():
                r = json.loads(line)
                last[(r["workload"], r.get("metric", "error"), r["fw"])] = r
    rows = sorted({(w, m) for w, m, _ in last})
    fws = [f for f in ("numflow", "tf", "torch") if any(k[2] == f for k in last)]
    print("| workload | metric | unit | " + " | ".join(fws) + " | numflow vs best peer |")
    print("|---" * (len(fws) + 4) + "|")
    for w, m in rows:
        cells = [last.get((w, m, f)) for f in fws]
        unit = next((c["unit"] for c in cells if c and "unit" in c), "")
        nf = last.get((w, m, "numflow"))
        peers = [c for f, c in zip(fws, cells) if f != "numflow" and c and "median" in c]
        ratio = ""
        if nf and "median" in nf and peers:
            if unit in LOWER_IS_BETTER:
                best = min(p["median"] for p in peers)
                ratio = f"{best / nf['median']:.2f}x"
            else:
                best = max(p["median"] for p in peers)
                ratio = f"{nf['median'] / best:.2f}x"
        print(f"| {w} | {m} | {unit} | " + " | ".join(_fmt(c) if c else "–" for c in cells) +
              f" | {ratio} |")
    print(f"\n† contended: other processes used >= 0.25 cores. Python {platform.python_version()}.")


if __name__ == "__main__":
    main(sys.argv[1:])
