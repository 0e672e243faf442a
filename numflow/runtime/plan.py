"""Plan: a graph pruned to what some fetches need, topologically sorted, rewritten by the
graph passes (runtime/passes) and compiled into a tight list of kernel calls (runtime/
executor.py). Session and tf.function build one per (fetches, feeds) and reuse it for
every run.
"""
from numflow.runtime import executor, passes
from numflow.runtime.passes import program as program_mod


def _prune_and_sort(fetch_tensors, target_ops, fed_ids):
    """Operations needed for the fetches/targets, inputs first (iterative DFS)."""
    order, state = [], {}
    roots = [t.op for t in fetch_tensors if id(t) not in fed_ids] + list(target_ops)
    for root in roots:
        if id(root) in state:
            continue
        stack = [(root, _deps(root, fed_ids))]
        state[id(root)] = 1
        while stack:
            op, it = stack[-1]
            for dep in it:
                s = state.get(id(dep))
                if s is None:
                    state[id(dep)] = 1
                    stack.append((dep, _deps(dep, fed_ids)))
                    break
                if s == 1:
                    raise ValueError(f"Graph has a cycle through operation {dep.name!r}")
            else:
                stack.pop()
                state[id(op)] = 2
                order.append(op)
    return order


def _deps(op, fed_ids):
    for t in op.inputs:
        if id(t) not in fed_ids:
            yield t.op
    yield from op.control_inputs


class Plan:
    """Compiled steps for one (fetches, targets, feeds) signature on one RunState.

    ``ops`` are the graph operations the plan needs (before rewriting); ``program`` is
    the rewritten program; ``passes`` the names of the passes that ran.
    """

    __slots__ = ("ops", "program", "passes", "steps", "feed_slots", "fetch_slots", "n_slots",
                 "uses_blas")

    def __init__(self, fetch_tensors, target_ops, feed_tensors, state):
        fed_ids = {id(t) for t in feed_tensors}
        self.ops = _prune_and_sort(fetch_tensors, target_ops, fed_ids)
        self.program = program_mod.from_graph(self.ops, fetch_tensors, target_ops,
                                              feed_tensors)
        self.passes = passes.optimize(self.program)
        c = executor.compile_program(self.program, state)
        self.steps, self.n_slots, self.uses_blas = c.steps, c.n_slots, c.uses_blas
        self.feed_slots, self.fetch_slots = c.feed_slots, c.fetch_slots

    def run(self, feed_values):
        """Runs the steps; returns the fetched arrays."""
        return executor.run_steps(self.steps, self.n_slots, self.feed_slots, feed_values,
                                  self.fetch_slots, self.uses_blas)
