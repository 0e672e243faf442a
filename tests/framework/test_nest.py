import collections

import pytest

from numflow.framework import nest


def test_flatten_and_pack_round_trip():
    P = collections.namedtuple("P", "a b")
    s = {"b": [1, (2, 3)], "a": P(4, {"z": 5, "y": 6})}
    flat = nest.flatten(s)
    assert flat == [4, 6, 5, 1, 2, 3]     # dicts in sorted key order
    back = nest.pack_sequence_as(s, [x * 10 for x in flat])
    assert back["a"] == P(40, {"z": 50, "y": 60}) and back["b"] == [10, (20, 30)]


def test_map_structure_and_errors():
    assert nest.map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    with pytest.raises(ValueError):
        nest.assert_same_structure([1, 2], [1])
    with pytest.raises(ValueError):
        nest.pack_sequence_as([1, 2], [1])


def test_deep_nesting_is_iterative():
    s = 0
    for _ in range(5000):
        s = [s]
    assert nest.flatten(s) == [0]
