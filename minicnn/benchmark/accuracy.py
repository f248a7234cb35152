"""Each implementation's error against a float64 reference: the output and every gradient.

The reference is minicnn's textbook code in float64 on the same inputs: the numpy backend with
conv2d's "direct" algorithm (the definition, one channel GEMM per kernel tap), whose own
rounding (~1e-15 relative) is far below float32's. Each implementation computes in float32, as
the timed cases do, from the same seeded inputs (:func:`~.cases.operand_arrays`) and the same
random output gradient; so the numbers show float32 rounding plus whatever error the algorithm
adds of its own (the FFT's and Winograd's transforms do).

The error of one array is max |got - want| / max |want|: relative to the array's scale, so that
layers and gradients of different magnitudes read alike (float32 rounding alone gives ~1e-7
to 1e-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .cases import Case, Workload, op_function, operand_arrays
from .implementations import Implementation
from .timing import one_line_error

REFERENCES = {"conv2d": Implementation("cpu", "numpy", "direct"),
              "max_pool2d": Implementation("cpu", "numpy"),
              "avg_pool2d": Implementation("cpu", "numpy")}
GRADIENT_NAMES = {"conv2d": ("input", "weight", "bias"), "max_pool2d": ("input",), "avg_pool2d": ("input",)}
CHECKED_OPS = tuple(REFERENCES)


@dataclass(frozen=True)
class Accuracy:
    """One implementation's errors on one workload (see the module docstring), or why it failed."""

    op: str
    shape: str
    implementation: str
    output: float | None = None
    gradients: dict[str, float] | None = None  # by the name of the input: "input", "weight", "bias"
    error: str | None = None


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want| (the plain max |got - want| where ``want`` is all zeros)."""
    difference = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    return difference / scale if scale else difference


def _as_float64(tensor: Any) -> np.ndarray:
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)


def _output_gradient(shape: tuple[int, ...]) -> np.ndarray:
    """The gradient fed to the backward: seeded, so the same for every implementation of a shape,
    and float32 values, so that the float64 reference is given exactly the same numbers."""
    return np.random.default_rng(2).standard_normal(shape).astype(np.float32)


def _output_and_gradients(op: str, workload: Workload, implementation: Implementation,
                          arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """[output, gradient of each operand] of one call of ``op`` on ``arrays``, as float64 arrays."""
    with implementation.scope(differentiate=True):
        operands = [implementation.tensor(array, requires_grad=True) for array in arrays]
        output = op_function(op, workload, implementation)(*operands)
        output_grad = _output_gradient(tuple(output.shape)).astype(arrays[0].dtype)
        output.backward(implementation.tensor(output_grad))
        return [_as_float64(output), *(_as_float64(operand.grad) for operand in operands)]


def check_workload(op: str, workload: Workload, implementations: Sequence[Implementation]) -> list[Accuracy]:
    """The errors of each implementation of ``op`` on ``workload``, against one reference call."""
    arrays = operand_arrays(op, workload)  # float32; the reference gets the same values in float64
    want = _output_and_gradients(op, workload, REFERENCES[op], [a.astype(np.float64) for a in arrays])
    found = []
    for implementation in implementations:
        label = implementation.label
        try:
            got = _output_and_gradients(op, workload, implementation, arrays)
        except Exception as exc:
            found.append(Accuracy(op, str(workload), label, error=one_line_error(exc)))
            continue
        errors = [relative_error(g, w) for g, w in zip(got, want)]
        found.append(Accuracy(op, str(workload), label, errors[0], dict(zip(GRADIENT_NAMES[op], errors[1:]))))
    return found


def check_cases(cases: Sequence[Case]) -> list[Accuracy]:
    """:func:`check_workload` for every conv2d and pooling workload of ``cases``, each
    implementation once (a workload's fwd and fwd+bwd cases share their numbers)."""
    workloads: dict[tuple[str, Workload], list[Implementation]] = {}
    for case in cases:
        if case.op in CHECKED_OPS:
            implementations = workloads.setdefault((case.op, case.workload), [])
            if case.implementation not in implementations:
                implementations.append(case.implementation)
    return [accuracy for (op, workload), implementations in workloads.items()
            for accuracy in check_workload(op, workload, implementations)]
