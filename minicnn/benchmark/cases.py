"""The benchmark matrix: which cases to time, and the code each one times.

A :class:`Case` is one op on one shape, computed by one implementation, in one direction:
conv2d, max_pool2d and avg_pool2d forward ("fwd") and forward+backward ("fwd+bwd"), and one
LeNet-5 training step ("train step"). :func:`build_cases` expands a :class:`BenchPlan` into
the cases, and :func:`by_group` gathers those that compute the same thing — the contenders
that :func:`~.timing.compare` alternates. :func:`contender` makes a case's inputs once and
hands back the step to time, which reuses them on every call (fresh inputs per call would
time the allocator and page faults); :func:`operand_arrays` and :func:`op_function` are the
same inputs and op for the accuracy check (:mod:`.accuracy`).

Both ``minicnn bench`` and the pytest-benchmark suite (benchmarks/test_backends_bench.py) use
these, so the two measure the same matrix with the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, ContextManager, Sequence, Union

import numpy as np

from ..geometry import ConvGeometry, conv2d_geometry
from .implementations import Implementation, backend_implementations, conv2d_implementations
from .layers import STANDARD_LAYERS, STANDARD_POOLS, ConvLayer, LeNetStep, PoolLayer, conv_flops
from .timing import Contender, Step

FORWARD, FORWARD_BACKWARD, TRAIN_STEP = "fwd", "fwd+bwd", "train step"
POOL_OPS = ("max_pool2d", "avg_pool2d")
OPS = ("conv2d", *POOL_OPS, "lenet5_step")

Workload = Union[ConvLayer, PoolLayer, LeNetStep]


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


def build_cases(plan: BenchPlan) -> list[Case]:
    """Every case of ``plan``: per op and workload, each implementation in both directions."""
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
    return cases


def by_group(cases: Sequence[Case]) -> dict[str, list[Case]]:
    """The cases by :attr:`Case.group` (the implementations that compete), groups in plan order."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    return groups


# ----------------------------------------------------------------------------- the steps
def random_arrays(*shapes: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    """float32 standard-normal arrays, the same for every implementation (seeded)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def operand_arrays(op: str, workload: Workload) -> list[np.ndarray]:
    """The differentiable inputs of a conv2d (input, weight, bias) or pooling (input) case."""
    if op == "conv2d":
        return random_arrays((workload.n, workload.c_in, workload.h, workload.w),
                             (workload.c_out, workload.c_in, workload.k, workload.k),
                             (workload.c_out,))
    return random_arrays((workload.n, workload.c, workload.h, workload.w))


def op_function(op: str, workload: Workload, implementation: Implementation) -> Callable[..., Any]:
    """``f(*operands) -> output``: the op of a conv2d or pooling case in ``implementation``'s library."""
    functional = implementation.library.nn.functional
    if op == "conv2d":
        options = dict(stride=workload.stride, padding=workload.pad, **implementation.conv2d_options())
        return lambda x, w, b: functional.conv2d(x, w, b, **options)
    pool = getattr(functional, op)
    return lambda x: pool(x, workload.k, workload.stride, workload.pad)


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


def _op_step(case: Case) -> Step:
    """One conv2d or pooling call (and its backward) on operands made once."""
    implementation = case.implementation
    operands = [implementation.tensor(array, requires_grad=case.differentiates)
                for array in operand_arrays(case.op, case.workload)]
    function = op_function(case.op, case.workload, implementation)
    return _forward_or_backward(case, lambda: function(*operands), operands)


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
    (images,) = random_arrays((batch, 1, 28, 28))
    x = implementation.tensor(images)
    y = implementation.tensor(np.random.default_rng(1).integers(0, 10, batch))

    def train_step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return train_step


def step(case: Case) -> Step:
    """``step()`` runs the case once on inputs made here, once, and waits for the GPU.

    Build it, and run it, under ``case.implementation.scope(case.differentiates)`` (the
    backend selected, no_grad for a forward). The inputs are reused on every call: fresh
    inputs per call would time the allocator and page faults.
    """
    run = _lenet5_step(case) if case.op == "lenet5_step" else _op_step(case)
    synchronize = case.implementation.synchronize

    def run_and_wait() -> None:
        run()
        synchronize()

    return run_and_wait


def contender(case: Case) -> Contender:
    """The case as a :class:`~.timing.Contender`: its step, built under the scope it runs in."""
    def scope() -> ContextManager:
        return case.implementation.scope(case.differentiates)

    with scope():
        return Contender(case.implementation.label, step(case), scope)
