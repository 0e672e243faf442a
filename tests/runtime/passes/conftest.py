"""Helpers for the pass tests: build a graph, run it in a Session with some passes
switched off, and look at the plan the Session built."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import nest
from numflow.runtime import passes


class Runner:
    """``run(build, off=(), runs=1)``: ``build()`` (called inside a fresh graph) returns
    ``(fetches, feed_dict)``; global variables are initialised with fixed seeds. Returns
    the list of results of ``runs`` runs and the plan used."""

    def run(self, build, off=(), runs=1):
        g = tf.Graph()
        with g.as_default():
            tf1.set_random_seed(0)
            fetches, feeds = build()
            init = tf1.global_variables_initializer()
        with passes.disabled(*off):
            sess = tf1.Session(graph=g)
            sess.run(init)
            results = [sess.run(fetches, feeds) for _ in range(runs)]
        plans = [p for k, p in sess._plans.items() if isinstance(k, tuple)]
        return results, plans[-1]

    def same(self, build, off, runs=1):
        """Runs with and without passes ``off``; asserts bit-identical results; returns
        the two plans (with, without)."""
        with_, plan_on = self.run(build, (), runs)
        without, plan_off = self.run(build, off, runs)
        for a, b in zip(nest.flatten(with_), nest.flatten(without)):
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=True), (a, b)
        return plan_on, plan_off

    @staticmethod
    def types(plan):
        """The node types of a plan's rewritten program, in order."""
        return [n.type for n in plan.program.nodes]


@pytest.fixture
def runner():
    return Runner()
