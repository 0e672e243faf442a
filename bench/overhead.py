"""W4a/W4b/W6: Session.run overhead, eager op overhead and import time.

    python -m bench.overhead [--peer-python /path/to/venv/bin/python] [--repeat 5]

Each framework runs the same code (``tf.compat.v1`` for the session, eager ``tf.add``)
in its own subprocess; medians with min-max are printed side by side.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

_CODE = r'''
import json, sys, time
t0 = time.perf_counter()
import importlib
tf = importlib.import_module(sys.argv[1])
import_s = time.perf_counter() - t0
repeat, n = int(sys.argv[2]), 2000
v1 = tf.compat.v1
res = {"import_seconds": [import_s]}
g = v1.Graph()
with g.as_default():
    m1 = v1.constant([[3., 3.]]); m2 = v1.constant([[2.], [2.]])
    product = v1.matmul(m1, m2)
    sess = v1.Session(graph=g)
    for _ in range(100): sess.run(product)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n): sess.run(product)
        ts.append((time.perf_counter() - t) / n * 1e6)
    res["session_run_matmul_us"] = ts
a = tf.constant([[1., 2.], [3., 4.]]); b = tf.constant([[1., 2.], [3., 4.]])
for _ in range(100): tf.add(a, b)
ts = []
for _ in range(repeat):
    t = time.perf_counter()
    for _ in range(n * 10): tf.add(a, b)
    ts.append((time.perf_counter() - t) / (n * 10) * 1e6)
res["eager_add_2x2_us"] = ts
print(json.dumps(res))
'''


def measure(python, module, repeat, env=None):
    out = subprocess.run([python, "-c", _CODE, module, str(repeat)], capture_output=True,
                         text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def fmt(vals):
    return f"{statistics.median(vals):.3g} ({min(vals):.3g}-{max(vals):.3g})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-python", help="a Python with tensorflow installed")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    imports = [measure(sys.executable, "numflow", 1, env)["import_seconds"][0]
               for _ in range(args.repeat)]
    nf = measure(sys.executable, "numflow", args.repeat, env)
    nf["import_seconds"] = imports
    rows = {"numflow": nf}
    if args.peer_python:
        tf_imports = [measure(args.peer_python, "tensorflow", 1, env)["import_seconds"][0]
                      for _ in range(3)]
        rows["tensorflow"] = measure(args.peer_python, "tensorflow", args.repeat, env)
        rows["tensorflow"]["import_seconds"] = tf_imports
    print("| metric | " + " | ".join(rows) + (" | numflow/tf |" if len(rows) > 1 else " |"))
    print("|---" * (len(rows) + 1 + (len(rows) > 1)) + "|")
    for metric in ("session_run_matmul_us", "eager_add_2x2_us", "import_seconds"):
        cells = [fmt(r[metric]) for r in rows.values()]
        ratio = ""
        if len(rows) > 1:
            ratio = f" | {statistics.median(nf[metric]) / statistics.median(rows['tensorflow'][metric]):.3f}"
        print(f"| {metric} | " + " | ".join(cells) + ratio + " |")


if __name__ == "__main__":
    main()
