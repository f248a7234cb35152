"""One training epoch of LeNet-5 on the real MNIST (60 000 images, batch 64, Adam): minicnn vs torch.

Both libraries run the same model code from the same initial weights over the same batches
(one fixed permutation), each in its own warmed-up block. minicnn runs twice: on its reference
NumPy backend (conv2d im2col) and on what `minicnn train` picks when numba is installed (the
numba backend, conv2d direct). Needs MNIST in the cache (`minicnn download mnist`).

    python -m pytest benchmarks/test_epoch_bench.py --benchmark-json=benchmarks/results/epoch.json
"""
import contextlib

import numpy as np
import pytest
import torch

import minicnn
from minicnn.training.data import load_mnist, normalise_images
from minicnn.training.config import DataSource
from test_lenet_bench import LIBRARIES, lenet5

BATCH = 64


@pytest.fixture(scope="module")
def mnist_batches():
    images, labels = load_mnist(DataSource(root=None, download=False), train=True)
    x = normalise_images(images)
    order = np.random.default_rng(0).permutation(len(x))
    return [(x[order[i:i + BATCH]], labels[order[i:i + BATCH]]) for i in range(0, len(x), BATCH)]


# implementation -> (library, minicnn's backend and conv2d algorithm)
IMPLEMENTATIONS = {
    "torch": (torch, None),
    "minicnn": (minicnn, ("numpy", "im2col")),
    "minicnn-numba": (minicnn, ("numba", "direct")),
}


def _compute_settings(choice):
    """A context with minicnn's backend and conv2d algorithm set (nothing for torch)."""
    stack = contextlib.ExitStack()
    if choice is not None:
        backend, algorithm = choice
        stack.enter_context(minicnn.backends.use_backend(backend))
        stack.enter_context(minicnn.conv_algorithm(algorithm))
    return stack


def _epoch(impl, batches):
    lib, choice = IMPLEMENTATIONS[impl]
    torch.manual_seed(0)
    reference = lenet5(torch)
    model = lenet5(lib)
    if lib is minicnn:
        model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    tensors = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]

    def run(steps=None):
        with _compute_settings(choice):
            for x, y in tensors[:steps]:
                optimizer.zero_grad()
                loss_fn(model(x), y).backward()
                optimizer.step()

    run(50)  # warm up: thread pools, allocator, first-touch page faults
    return run


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_lenet5_epoch(benchmark, impl, mnist_batches):
    benchmark.group = "lenet5 MNIST epoch (60000 images, batch 64, Adam)"
    benchmark.extra_info.update(impl=impl, images=60000)
    benchmark.pedantic(_epoch(impl, mnist_batches), rounds=3, iterations=1)
