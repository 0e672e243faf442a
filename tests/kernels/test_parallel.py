"""numflow/kernels/parallel.py: pieces cover the range in order, errors propagate, and
nested or single-worker use runs serially."""
import threading

import pytest

from numflow.kernels import parallel, threads


def test_map_chunks_covers_the_range_in_order():
    got = parallel.map_chunks(lambda a, b: (a, b), 10, 3)
    assert got == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert parallel.map_chunks(lambda a, b: (a, b), 0, 3) == []


def test_blas_thread_count_is_restored():
    before = threads.get()
    parallel.map_chunks(lambda a, b: threads.get(), 8, 2)
    assert threads.get() == before


def test_pieces_run_on_the_pool_with_one_blas_thread():
    if parallel.workers() < 2:
        pytest.skip("one core: pieces run serially")
    seen = parallel.map_chunks(lambda a, b: (threading.current_thread().name, threads.get()),
                               8, 2)
    assert all(name.startswith("numflow-kernel") for name, _ in seen)
    assert all(n == 1 for _, n in seen)


def test_an_error_in_one_piece_reaches_the_caller_after_all_pieces():
    done = []

    def piece(a, b):
        if a == 2:
            raise ValueError("piece 2 failed")
        done.append(a)
        return a

    with pytest.raises(ValueError, match="piece 2 failed"):
        parallel.map_chunks(piece, 8, 2)
    assert sorted(done) == [0, 4, 6]


def test_nested_calls_run_serially_inside_a_worker():
    inner = parallel.map_chunks(
        lambda a, b: parallel.map_chunks(lambda c, d: threading.current_thread().name, 4, 1),
        4, 2)
    for names in inner:
        assert len(set(names)) == 1      # every inner piece on the outer piece's thread


def test_chunk_size_balances_and_respects_the_budget():
    assert parallel.chunk_size(50, 1000) == (-(-50 // (2 * parallel.workers()))
                                             if parallel.workers() > 1 else 50)
    assert parallel.chunk_size(50, 3) == 3
    assert parallel.chunk_size(50, 0) == 1


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_pool():
    import os
    import signal
    parallel.map_chunks(lambda a, b: a, 4, 1)      # the parent's pool exists
    pid = os.fork()
    if pid == 0:                                     # child: must not wait on dead workers
        signal.alarm(30)
        code = 1
        try:
            code = 0 if parallel.map_chunks(lambda a, b: a, 4, 1) == [0, 1, 2, 3] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
