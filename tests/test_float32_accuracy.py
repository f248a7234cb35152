"""float32 accuracy at a realistic size: a 256-channel 3x3 layer on a 56x56 image (batch 1, ResNet's
conv2 stage), every implementation here, output and both gradients against a float64 reference.

The sweeps' tiny shapes sum a few dozen products per output, where any algorithm is accurate;
a real layer sums thousands, and that is where a float32 accumulation order, a Winograd or FFT
transform, or an accidental float16/float32 temporary shows. The reference is torch in float64
on the same (float32-representable) inputs.

Tolerance. Each result is a sum of K products: the output of K = C_in*KH*KW = 2304 (one per
input channel and tap), the input gradient of K = C_out*KH*KW = 2304, the weight gradient of
K = N*OH*OW = 3136 (one per output pixel). Summed one after another in float32, the j-th partial
sum s_j is rounded by up to u*|s_j| (u = eps/2 = 2**-24), an error uniform in sign with variance
u**2 * s_j**2 / 3. With the products' variance 1/K (the weights are scaled so that |y| ~ 1),
s_j**2 ~ j/K and the K roundings add like a random walk: variance u**2 * K/6, so the error
relative to the result is u*sqrt(K/6) ~ 0.2 * eps * sqrt(K) (the worst case, eps*K, needs every
rounding to go the same way). Measured as a norm over the whole tensor, ||got - ref|| / ||ref||,
that is the error of the plainest loop; blocked BLAS sums do better (about 0.05 here), FFT (a
length-58 transform per axis) and Winograd (transforms that scale by up to 4) a little worse
than BLAS, numba's direct kernel about 0.15. The bound is eps*sqrt(K) (C = 1): five times the
plain loop's expectation, and far below what one wrong step gives (a float16 or TF32-like
temporary: C ~ 100; a dropped tap: C ~ 1e4).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
from parity import call_on, generator_for, implementations, to_numpy

pytestmark = pytest.mark.slow  # a few GFLOP per implementation

N, C, H, W, K = 1, 256, 56, 56, 3
EPS32 = float(np.finfo(np.float32).eps)  # 2**-23
C_BOUND = 1.0  # see the module docstring
REDUCTION = {"output": C * K * K, "grad x": C * K * K, "grad w": N * H * W}  # padding 1 keeps 56x56


@pytest.fixture(scope="module")
def layer():
    """float32 x, w and an upstream gradient, and torch's float64 output and gradients for them."""
    rng = generator_for("test_float32_accuracy.py::layer")
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((C, C, K, K)) / math.sqrt(C * K * K)).astype(np.float32)  # He-like scale
    grad_y = rng.standard_normal((N, C, H, W)).astype(np.float32)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    yt = tF.conv2d(xt, wt, padding=1)
    yt.backward(torch.tensor(grad_y, dtype=torch.float64))
    reference = {"output": to_numpy(yt), "grad x": to_numpy(xt.grad), "grad w": to_numpy(wt.grad)}
    return (x, w, grad_y), reference


# auto only picks one of the others (and would time them all at this size first).
FLOAT32_IMPLEMENTATIONS = [param for param in implementations("conv2d") if param.values[1] != "auto"]


@pytest.mark.parametrize("backend, algorithm", FLOAT32_IMPLEMENTATIONS)
def test_float32_error_grows_no_faster_than_eps_sqrt_k(backend, algorithm, layer):
    (x, w, grad_y), reference = layer
    run = call_on("conv2d", backend, algorithm=algorithm, padding=1)
    xm, wm = minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)
    y = run(minicnn, minicnn.nn.functional, xm, wm)
    y.backward(minicnn.tensor(grad_y))
    got = {"output": y, "grad x": xm.grad, "grad w": wm.grad}
    for what, result in got.items():
        assert result.dtype == np.float32, f"{backend}-{algorithm} {what}: computed in {result.dtype}, not float32"
        want = reference[what]
        error = float(np.linalg.norm(result.numpy().astype(np.float64) - want) / np.linalg.norm(want))
        bound = C_BOUND * EPS32 * math.sqrt(REDUCTION[what])
        assert error <= bound, (
            f"conv2d[{backend}, {algorithm}] float32 {what}: relative error {error:.2e} > "
            f"{C_BOUND:g} * eps * sqrt({REDUCTION[what]}) = {bound:.2e}"
        )
