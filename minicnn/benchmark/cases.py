"""The benchmark matrix: which cases to time, and the code each one times.

A :class:`Case` is one op on one shape, computed by one implementation, in one direction:
conv2d, max_pool2d and avg_pool2d forward ("fwd") and forward+backward ("fwd+bwd"), and one
LeNet-5 training step ("train step"). :func:`build_cases` expands a :class:`BenchPlan` into
the cases; :func:`prepared` makes a case's inputs once and hands back the step to time, which
reuses them on every call (fresh inputs per call would time the allocator and page faults).

Both ``minicnn bench`` and the pytest-benchmark suite (benchmarks/test_backends_bench.py) use
these, so the two measure the same matrix with the same code.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from ..geometry import ConvGeometry, conv2d_geometry
from .implementations import Implementation, backend_implementations, conv2d_implementations
from .layers import STANDARD_LAYERS, STANDARD_POOLS, ConvLayer, LeNetStep, PoolLayer, conv_flops

FORWARD, FORWARD_BACKWARD, TRAIN_STEP = "fwd", "fwd+bwd", "train step"
POOL_OPS = ("max_pool2d", "avg_pool2d")
OPS = ("conv2d", *POOL_OPS, "lenet5_step")

Workload = Union[ConvLayer, PoolLayer, LeNetStep]
Step = Callable[[], None]


@dataclass(frozen=True)
class Case:
    op: str
    workload: Workload
    direction: str
    implementation: Implementation

    @property
    def group(self) -> str:
        """The cases that compute the same thing, whose times are compared: all but the implementation."""
        return f"{self.op} {self.workload} {self.direction}"

    @property
    def differentiates(self) -> bool:
        return self.direction != FORWARD

    @property
    def flops(self) -> int | None:
        """Floating-point operations of one step; counted for conv2d only (None otherwise)."""
        if self.op != "conv2d":
            return None
        return conv_flops(self.workload, backward=self.direction == FORWARD_BACKWARD)

    def __str__(self) -> str:
        return f"{self.group} {self.implementation}"


@dataclass(frozen=True)
class BenchPlan:
    """What to time: the ops, their shapes, minicnn's backends and conv algorithms, and torch.

    ``algorithms`` None means every registered conv2d algorithm; ``torch`` None, no torch cases.
    """

    backends: tuple[str, ...]
    torch: ModuleType | None
    ops: tuple[str, ...] = OPS
    conv_layers: tuple[ConvLayer, ...] = tuple(STANDARD_LAYERS)
    pool_layers: tuple[PoolLayer, ...] = tuple(STANDARD_POOLS)
    lenet: LeNetStep = LeNetStep()
    algorithms: tuple[str, ...] | None = None


def conv_layer_geometry(layer: ConvLayer) -> ConvGeometry:
    """The validated geometry of ``layer`` (with bias), as conv2d would derive it."""
    return conv2d_geometry((layer.n, layer.c_in, layer.h, layer.w),
                           (layer.c_out, layer.c_in, layer.k, layer.k), (layer.c_out,),
                           layer.stride, layer.pad)


def _expand(op: str, workloads: Sequence[Workload], directions: Sequence[str],
            implementations: Callable[[Workload], list[Implementation]]) -> list[Case]:
    return [Case(op, workload, direction, implementation)
            for workload in workloads
            for implementation in implementations(workload)
            for direction in directions]


def _by_runtime(cases: list[Case]) -> list[Case]:
    """The cases with every one of a runtime back to back (torch-cpu's, then numpy's, ...).

    DESIGN.md, Performance: each library is timed in its own block, because a library's idle
    threads (OpenBLAS spins ~0.1 s after a GEMM) steal cores from the next one. The sort is
    stable, so within a runtime the cases keep the plan's order.
    """
    rank: dict[str, int] = {}
    for case in cases:
        rank.setdefault(case.implementation.runtime, len(rank))
    return sorted(cases, key=lambda case: rank[case.implementation.runtime])


def build_cases(plan: BenchPlan) -> list[Case]:
    """Every case of ``plan``, grouped by runtime (see :func:`_by_runtime`)."""
    directions = (FORWARD, FORWARD_BACKWARD)
    cases: list[Case] = []
    if "conv2d" in plan.ops:
        cases += _expand("conv2d", plan.conv_layers, directions, lambda layer: conv2d_implementations(
            conv_layer_geometry(layer), plan.backends, plan.algorithms, plan.torch))

    def per_backend(_: Workload) -> list[Implementation]:  # pooling and LeNet: no algorithm choice
        return backend_implementations(plan.backends, plan.torch)

    for op in POOL_OPS:
        if op in plan.ops:
            cases += _expand(op, plan.pool_layers, directions, per_backend)
    if "lenet5_step" in plan.ops:
        cases += _expand("lenet5_step", [plan.lenet], [TRAIN_STEP], per_backend)
    return _by_runtime(cases)


# ----------------------------------------------------------------------------- the steps
def _random_arrays(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    """float32 standard-normal arrays, the same for every implementation (seeded)."""
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def _forward_or_backward(case: Case, forward: Callable[[], Any], leaves: Sequence[Any]) -> Step:
    """``forward`` itself, or forward then backward of a fixed output gradient (all ones).

    Gradients are cleared before each backward (as ``zero_grad()`` does), so every call does
    the same work rather than also accumulating into the previous call's gradients.
    """
    if not case.differentiates:
        return forward
    grad = case.implementation.library.ones_like(forward())

    def forward_backward() -> None:
        for leaf in leaves:
            leaf.grad = None
        forward().backward(grad)

    return forward_backward


def _conv2d_step(case: Case) -> Step:
    layer, implementation = case.workload, case.implementation
    conv2d = implementation.library.nn.functional.conv2d
    arrays = _random_arrays((layer.n, layer.c_in, layer.h, layer.w),        # input
                            (layer.c_out, layer.c_in, layer.k, layer.k),    # weight
                            (layer.c_out,))                                 # bias
    x, w, b = (implementation.tensor(array, requires_grad=case.differentiates) for array in arrays)
    options = dict(stride=layer.stride, padding=layer.pad, **implementation.conv2d_options())
    return _forward_or_backward(case, lambda: conv2d(x, w, b, **options), [x, w, b])


def _pool_step(case: Case) -> Step:
    layer, implementation = case.workload, case.implementation
    pool = getattr(implementation.library.nn.functional, case.op)
    (array,) = _random_arrays((layer.n, layer.c, layer.h, layer.w))
    x = implementation.tensor(array, requires_grad=case.differentiates)
    return _forward_or_backward(case, lambda: pool(x, layer.k, layer.stride, layer.pad), [x])


def lenet5(nn: ModuleType) -> Any:
    """LeNet-5 (as :mod:`minicnn.models.lenet`) from ``nn``, torch's or minicnn's: the same code for both."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def _lenet5_step(case: Case) -> Step:
    implementation, batch = case.implementation, case.workload.batch
    lib = implementation.library
    lib.manual_seed(0)
    model = lenet5(lib.nn).to(implementation.device)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()
    (images,) = _random_arrays((batch, 1, 28, 28))
    x = implementation.tensor(images)
    y = implementation.tensor(np.random.default_rng(1).integers(0, 10, batch))

    def train_step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return train_step


_STEP_BUILDERS: dict[str, Callable[[Case], Step]] = {
    "conv2d": _conv2d_step,
    "max_pool2d": _pool_step,
    "avg_pool2d": _pool_step,
    "lenet5_step": _lenet5_step,
}


@contextlib.contextmanager
def prepared(case: Case) -> Iterator[Step]:
    """``with prepared(case) as step:`` — inputs made, ``step()`` runs the case once and waits
    for the GPU; time it inside the block (the implementation's backend and no_grad are on)."""
    implementation = case.implementation
    with implementation.scope(case.differentiates):
        run = _STEP_BUILDERS[case.op](case)

        def step() -> None:
            run()
            implementation.synchronize()

        yield step
