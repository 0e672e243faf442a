"""Run numflow's benchmark workloads, optionally beside TensorFlow and PyTorch.

    python -m bench W2 W4                       # numflow only
    python -m bench all --peer-python /venv/bin/python --torch-python /venv/bin/python \
        --out bench/results/run.jsonl           # same run, peers beside numflow

Each workload runs in a fresh subprocess per framework (``--fw`` inside the child). TF runs
the very same TF-API code (bench/workloads.py). PyTorch runs the shared harness's idiomatic
PyTorch versions (../shared/bench, when present). W6 (import time) is measured here.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import cpu_sample, foreign_cpu, record, repeat_time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench")
TORCH_NAMES = {"W1": "softmax", "W2": "mlp", "W3": "cnn", "W3v1": "cnn", "W4": "overhead",
               "W5": "lstm",
               "W7": "infer", "W9": "limit"}
ALL = ["W1", "W2", "W3", "W3v1", "W4", "W5", "W6", "W7", "W8", "W9"]


def child_main(workload, module, repeat):
    import importlib
    from bench.workloads import WORKLOADS
    tf = importlib.import_module(module)
    fw = "numflow" if module == "numflow" else "tf"
    for metric, values, unit in WORKLOADS[workload](tf, repeat):
        record(workload, metric, values, unit, fw)


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                TF_CPP_MIN_LOG_LEVEL="3")


def _run_child(python, workload, module, repeat):
    proc = subprocess.run([python, "-m", "bench", "--child", workload, "--module", module,
                           "--repeat", str(repeat)], capture_output=True, text=True, env=_env(),
                          cwd=ROOT)
    recs = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode:
        err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        recs.append({"workload": workload, "fw": "numflow" if module == "numflow" else "tf",
                     "error": err})
        print(json.dumps(recs[-1]), flush=True)
    else:
        for r in recs:
            print(json.dumps(r), flush=True)
    return recs


def _run_torch(python, workload, repeat):
    name = TORCH_NAMES.get(workload)
    if name is None or not os.path.isdir(SHARED):
        return []
    proc = subprocess.run([python, os.path.join(SHARED, "run.py"), "--fw", "torch",
                           "--workload", name, "--repeat", str(repeat)], capture_output=True,
                          text=True, env=dict(os.environ, MNIST_DIR=os.path.join(
                              os.environ.get("NUMFLOW_HOME", os.path.expanduser("~/.numflow")),
                              "datasets")))
    recs = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            r["workload"] = workload
            recs.append(r)
            print(json.dumps(r), flush=True)
    return recs


def _import_time(python, module, repeat):
    cmd = [python, "-c", f"import {module}"]
    t = repeat_time(lambda: subprocess.run(cmd, check=True, capture_output=True, env=_env()),
                    repeat)
    fw = {"numflow": "numflow", "tensorflow": "tf"}.get(module, module)
    return [record("W6", "import_seconds", t, "s", fw)]


def _wait_quiet(limit_s=30):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        s = cpu_sample()
        time.sleep(2)
        if foreign_cpu(s) < 0.15:
            return


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=["all"])
    ap.add_argument("--peer-python", help="a Python with tensorflow-cpu installed")
    ap.add_argument("--torch-python", help="a Python with torch==2.13.0 installed")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", help="append JSON lines to this file")
    ap.add_argument("--child")
    ap.add_argument("--module", default="numflow")
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child, args.module, args.repeat)
        return 0
    names = ALL if args.workloads in (["all"], []) else args.workloads
    if "OPENBLAS_CORETYPE" in os.environ:
        print(f"bench: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set; the peers'"
              " reference numbers were measured without it (run under `env -u "
              "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`)", file=sys.stderr)
    recs = []
    for w in names:
        _wait_quiet()
        if w == "W6":
            recs += _import_time(sys.executable, "numflow", args.repeat)
            if args.peer_python:
                recs += _import_time(args.peer_python, "tensorflow", args.repeat)
            if args.torch_python:
                recs += _import_time(args.torch_python, "torch", args.repeat)
            continue
        recs += _run_child(sys.executable, w, "numflow", args.repeat)
        if args.peer_python:
            recs += _run_child(args.peer_python, w, "tensorflow", args.repeat)
        if args.torch_python:
            recs += _run_torch(args.torch_python, w, args.repeat)
    if args.out:
        with open(args.out, "a") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
