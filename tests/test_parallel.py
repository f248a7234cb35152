"""minicnn.tuned.numpy.parallel: a large NumPy copy split over the cores covers every row once."""
import numpy as np
import pytest

from minicnn.tuned.numpy import parallel


@pytest.mark.parametrize("cores", [1, 2, 3])
@pytest.mark.parametrize("length", [0, 1, 2, 7])
def test_split_covers_every_row_exactly_once(monkeypatch, cores, length):
    monkeypatch.setattr(parallel, "cores", lambda: cores)
    counts = np.zeros(length, dtype=int)
    big = np.empty(parallel.MIN_BYTES, dtype=np.uint8)

    def work(rows):
        counts[rows] += 1

    parallel.split_over_cores(work, length, big)
    np.testing.assert_array_equal(counts, np.ones(length, dtype=int))


def test_small_copies_stay_on_one_call():
    calls = []
    parallel.split_over_cores(calls.append, 8, np.empty(16))
    assert calls == [slice(0, 8)]


def test_an_error_in_a_helper_thread_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 2)

    def work(rows):
        if rows.start > 0:
            raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        parallel.split_over_cores(work, 4, np.empty(parallel.MIN_BYTES, dtype=np.uint8))
