"""Instruction counts of one conv2d or LeNet-5 step, for A/B of minicnn's own code on a busy machine.

Wall time is meaningless on a shared host; instructions executed are repeatable. Run under
callgrind with collection switched on only inside ``sorted`` (a C function this script calls
around the measured loop and nowhere else), pinned to one core with one BLAS and Numba thread:

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 taskset -c 0 valgrind --tool=callgrind \
        --collect-atstart=no --toggle-collect=builtin_sorted --callgrind-out-file=OUT \
        python benchmarks/callgrind_steps.py CASE [REPEATS [WARMUP]]

CASE: ``<layer>:fwd`` or ``<layer>:fwdbwd`` (a standard layer, numpy backend, default conv2d:
``F.conv2d`` with no arguments) or ``lenet5:<batch>`` (one training step on numba with direct
conv2d and Adam, ``minicnn train``'s default path). Instructions per step = the total / REPEATS.
WARMUP steps (default 2) run first, outside the collection (Numba compiles, buffers fill).
Numba's first calls in a process may still land in the collection: for the numba cases take
the difference between two runs, (count(2R) - count(R)) / R.
"""
import sys

import numpy as np

import minicnn
import minicnn.nn.functional as F
from minicnn.benchmark import STANDARD_LAYERS
from minicnn.benchmark.cases import lenet5, operand_arrays
from minicnn.functional import conv



def conv_step(layer_name: str, direction: str):
    """One F.conv2d call on a standard layer (float32, the process default: numpy, im2col), and its backward for "fwdbwd"."""
    layer = next(layer for layer in STANDARD_LAYERS if layer.name == layer_name)
    backward = direction == "fwdbwd"
    x, w, b = (minicnn.tensor(a, requires_grad=backward) for a in operand_arrays("conv2d", layer))

    def forward():
        return F.conv2d(x, w, b, stride=layer.stride, padding=layer.pad)

    if not backward:
        def step():
            with minicnn.no_grad():
                forward()
        return step
    grad = minicnn.ones_like(forward())

    def step():
        for leaf in (x, w, b):
            leaf.grad = None
        forward().backward(grad)
    return step


def lenet_step(batch: int):
    """One LeNet-5 training step with Adam as `minicnn train` runs it by default: numba backend, conv2d "direct"."""
    minicnn.backends.set_backend("numba")
    conv.set_default_algorithm("direct")
    minicnn.manual_seed(0)
    model = lenet5(minicnn.nn)
    optimizer = minicnn.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = minicnn.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = minicnn.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = minicnn.tensor(rng.integers(0, 10, batch))

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    return step


def main(case: str, repeats: int, warmup: int) -> None:
    name, variant = case.split(":")
    step = lenet_step(int(variant)) if name == "lenet5" else conv_step(name, variant)
    for _ in range(warmup):
        step()
    sorted(range(repeats), key=lambda i: (step(), i)[1])  # collected by callgrind (see above)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3, int(sys.argv[3]) if len(sys.argv) > 3 else 2)
