"""conv2d algorithm "auto": time the applicable algorithms the first time a problem is seen, then use the fastest.

This is cuDNN's benchmark mode (``torch.backends.cudnn.benchmark = True``) for minicnn. Which
algorithm is fastest depends on the shapes (the kernel size and the channel counts above all),
on the machine and on the backend, so rather than guess, auto measures once per problem and
caches the winner.

The problem key (:class:`AutoKey`) holds everything the speed depends on: the input and weight
shapes (batch included), the dtype, the device the arrays live on, the backend whose
implementations compete, the full geometry (stride, padding, dilation, groups) and, for the
backward, which gradients are needed. It holds no array, only shapes, names and the dtype
(a NumPy dtype, which CuPy arrays carry too), so one cache serves NumPy and CuPy arrays alike.

Forward and backward are timed and chosen separately: the algorithm with the fastest forward is
not always the one with the fastest backward (Winograd's backward, for one, runs a second
Winograd correlation plus the adjoint transforms). The forward is timed during the forward pass
and the backward during the backward pass, each on the real arrays of that call. In training
the forward keeps what its algorithm keeps for the backward (im2col: the column matrix), and
the backward reuses it when it chose the same algorithm.

The candidates are the registered algorithms whose ``supports(geom)`` accepts the geometry
(:func:`~.registry.applicable_algorithms`), except "auto" itself, each in its implementation
for the backend the process default selects for the input (:func:`~minicnn.backends.select_backend`):
under ``use_backend("numba")``, Numba's own kernels compete wherever it has them. (An algorithm
sees arrays only, so a per-call ``conv2d(..., backend=...)`` does not reach auto; set the
process default to tune another backend.)

Measurement: each candidate runs once untimed (a warm-up: first-touch page faults of its
temporaries, FFT plan caches, JIT and CUDA kernel compilation), then :data:`TIMED_RUNS` rounds
in which every candidate, in turn, runs twice and the second run is timed; a candidate's time is
its best round. Taking turns matters on a shared machine: a burst of load from elsewhere then
slows a round of every candidate, not all the runs of one, which would make a close second look
like the winner. The untimed run before each timed one brings the candidate's own buffers back
into the caches after the other candidates ran, as they are when one algorithm runs in a loop
(timed straight after the others, a small im2col took nearly twice its time in a loop).
So the first call of a key costs every candidate ``1 + 2 * TIMED_RUNS`` runs; later calls cost
one lookup. The timing runs' results are discarded and the winner computes the answer.

:func:`auto_choices` shows the cache (key -> chosen algorithm and every candidate's time);
:func:`clear_auto_cache` empties it, e.g. after registering a new algorithm.
"""
from __future__ import annotations

import functools
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from ...backends import array_module, device_of, select_backend
from ...geometry import ConvGeometry
from .registry import ConvAlgorithm, applicable_algorithms, get_algorithm

TIMED_RUNS = 3  # rounds after one warm-up run; a candidate's best round is its time
clock: Callable[[], float] = time.perf_counter  # the timer read; tests put a fake clock here


@dataclass(frozen=True)
class AutoKey:
    """One conv2d problem, as far as its speed is concerned."""

    direction: str  # "forward" or "backward"
    input_shape: tuple[int, ...]  # (N, C, H, W)
    weight_shape: tuple[int, ...]  # (C_out, C/G, KH, KW)
    dtype: Any  # the arrays' NumPy dtype (CuPy arrays carry NumPy dtypes too); == "float32" holds
    device: str  # "cpu" or "cuda"
    backend: str  # whose implementations were timed: "numpy", "numba", "cupy", "numba_cuda"
    geometry: ConvGeometry
    gradients: tuple[bool, bool] = (False, False)  # backward only: (need_input, need_weight)


@dataclass(frozen=True)
class AutoChoice:
    """The algorithm chosen for a key, and the measured seconds of every candidate."""

    algorithm: str
    seconds: dict[str, float]


_choices: dict[AutoKey, AutoChoice] = {}


def auto_choices() -> dict[AutoKey, AutoChoice]:
    """A copy of the cache: for every problem seen, the chosen algorithm and the measured times."""
    return dict(_choices)


def clear_auto_cache() -> None:
    """Forget every choice; the next call of each problem measures again."""
    _choices.clear()


def _key(direction: str, x, w, geom: ConvGeometry, gradients: tuple[bool, bool] = (False, False)) -> AutoKey:
    # The dtype object itself, not its name: str(dtype) would be most of a lookup's cost.
    backend = select_backend("conv2d", x)
    return AutoKey(direction, tuple(x.shape), tuple(w.shape), x.dtype, device_of(x), backend, geom, gradients)


def _candidates(geom: ConvGeometry, backend: str) -> tuple[str, ...]:
    """The applicable registered algorithms, except this one (it would time itself recursively)."""
    this_module = sys.modules[__name__]
    return tuple(
        name for name in applicable_algorithms(geom, backend) if get_algorithm(name, backend) is not this_module
    )


def _synchronize(array) -> None:
    """Wait for queued GPU work, so that a GPU timing measures the computation, not its launch."""
    if device_of(array) != "cpu":
        array_module(array).cuda.Device().synchronize()  # every stream: CuPy's and Numba's kernels


def _time_in_turns(runs: dict[str, Callable[[], Any]], turns: int,
                   synchronize: Callable[[], None]) -> dict[str, list[float]]:
    """Wall-clock seconds of each ``runs[name]()`` in each of ``turns`` turns: in every turn each
    run goes twice, once untimed (its own buffers back in the caches, as in a loop of it alone)
    and once timed. ``synchronize()`` is called before each clock reading.

    Taking turns puts a burst of load from elsewhere into a turn of every run rather than into
    all the runs of one. (This is auto's quick, in-op measurement; benchmarks use the blocked
    method of :mod:`minicnn.benchmark.timing`, which costs seconds per layer.)"""
    times = {name: [] for name in runs}
    for _ in range(turns):
        for name in runs:
            runs[name]()
            synchronize()
            start = clock()
            runs[name]()
            synchronize()
            times[name].append(clock() - start)
    return times


def measure(runs: dict[str, Callable[[], Any]], array) -> dict[str, float]:
    """How auto times its candidates (tests replace it to fake the timings).

    Best wall-clock time of each ``runs[name]()``: one warm-up run each, then
    :data:`TIMED_RUNS` turns (:func:`_time_in_turns`), a candidate's time being its best turn."""
    for run in runs.values():
        run()
    _synchronize(array)
    turns = _time_in_turns(runs, TIMED_RUNS, lambda: _synchronize(array))
    return {name: min(seconds, default=math.inf) for name, seconds in turns.items()}


def _chosen(key: AutoKey, run_with: Callable[[ConvAlgorithm], Any], array) -> ConvAlgorithm:
    """The algorithm cached for ``key``; on a miss, time ``run_with(algorithm)`` for each candidate first."""
    choice = _choices.get(key)
    if choice is None:
        runs = {
            name: functools.partial(run_with, get_algorithm(name, key.backend))
            for name in _candidates(key.geometry, key.backend)
        }
        seconds = measure(runs, array)
        choice = _choices[key] = AutoChoice(min(seconds, key=seconds.__getitem__), seconds)
    return get_algorithm(choice.algorithm, key.backend)


def _forward_algorithm(x, w, geom: ConvGeometry) -> ConvAlgorithm:
    return _chosen(_key("forward", x, w, geom), lambda a: a.forward(x, w, geom), x)


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW) by the fastest forward."""
    return _forward_algorithm(x, w, geom).forward(x, w, geom)


def forward_saving(x, w, geom: ConvGeometry):
    """:func:`forward`, and what the chosen algorithm keeps for its backward (``ConvAlgorithm``'s
    protocol), tagged with that algorithm: the backward hands it on only if it chose the same one
    (im2col's kept column matrix means nothing to fft)."""
    algorithm = _forward_algorithm(x, w, geom)
    keeping = getattr(algorithm, "forward_saving", None)
    if keeping is None:
        return algorithm.forward(x, w, geom), None
    y, saved = keeping(x, w, geom)
    return y, None if saved is None else (algorithm, saved)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool, saved=None):
    """grad_y (N, C_out, OH, OW) -> (grad_x or None, grad_w or None) by the fastest backward.

    ``saved``: what :func:`forward_saving` returned beside y. The candidates are timed without
    it, each rebuilding what it needs: an algorithm that reuses it runs faster than it was timed.
    """
    key = _key("backward", x, w, geom, (need_input, need_weight))
    algorithm = _chosen(key, lambda a: a.backward(grad_y, x, w, geom, need_input, need_weight), x)
    kept = {"saved": saved[1]} if saved is not None and saved[0] is algorithm else {}
    return algorithm.backward(grad_y, x, w, geom, need_input, need_weight, **kept)
