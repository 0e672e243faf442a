"""Graph rewrites applied to a Plan's program before it is compiled (STYLE rule 10).

Each pass is one module here with a ``run(program)`` function that rewrites a
:class:`~numflow.runtime.passes.program.Program` (the plan's own copy of the pruned graph;
the user's Graph is never touched). Passes are registered with a name and an order and
run in that order. Any pass can be switched off:

- for a process: ``NUMFLOW_DISABLE_PASSES=constant_folding,cse`` (``all`` disables every
  pass), read each time a plan is built;
- for a block of code (tests, debugging)::

      with passes.disabled("fuse_bias_activation"):
          ...   # plans built here skip that pass

Every pass keeps fetched results bit-for-bit identical; tests/runtime/passes checks each
one against the program with that pass disabled.
"""
import contextlib
import os
import threading

_PASSES = {}          # name -> (order, run function, module)
_local = threading.local()


def register(name, order):
    """Decorator registering ``run(program)`` as pass ``name`` (lower order runs first)."""
    def deco(fn):
        if name in _PASSES:
            raise KeyError(f"Pass {name!r} registered twice: first in "
                           f"{_PASSES[name][2]}, again in {fn.__module__}")
        _PASSES[name] = (order, fn, fn.__module__)
        return fn
    return deco


def names():
    """Every registered pass name, in run order."""
    return [n for n, _ in sorted(_PASSES.items(), key=lambda kv: kv[1][0])]


def _disabled_names():
    env = os.environ.get("NUMFLOW_DISABLE_PASSES", "")
    off = {n.strip() for n in env.split(",") if n.strip()}
    for block in getattr(_local, "stack", ()):
        off |= block
    if "all" in off:
        return set(_PASSES)
    unknown = off - set(_PASSES)
    if unknown:
        raise ValueError(f"NUMFLOW_DISABLE_PASSES / passes.disabled name unknown passes "
                         f"{sorted(unknown)}; known: {names()}")
    return off


def enabled():
    """The names of the passes that the next plan built in this thread will run."""
    off = _disabled_names()
    return [n for n in names() if n not in off]


@contextlib.contextmanager
def disabled(*pass_names):
    """Plans built inside the block (in this thread) skip ``pass_names`` ("all": every pass)."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(set(pass_names))
    try:
        _disabled_names()   # reject unknown names now, not at the next plan
        yield
    finally:
        stack.pop()


def optimize(program):
    """Runs every enabled pass over ``program`` in order; returns the names that ran."""
    ran = []
    for name in enabled():
        _PASSES[name][1](program)
        ran.append(name)
    return ran


# Importing the modules registers the passes (each module registers itself).
from numflow.runtime.passes import (constant_folding, cse, fuse_bias_activation,  # noqa: E402,F401
                                    inplace)
