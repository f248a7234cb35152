"""No host round trips inside a training step, checked on the CPU.

On a GPU, reading a value on the host — ``bool(array)``, ``float``, ``int``, ``.item()``,
``.tolist()``, an array used as a Python index — waits for every queued kernel and copies the
result back: one such read per op turns a queued training step into a stop-and-go one, and
``cupyx.allow_synchronize(False)`` (tests/test_cupy.py) makes it an error. This module catches
the same reads without a GPU: :class:`DeviceLikeArray`, a NumPy array whose host reads raise,
goes through a whole LeNet-5 training step (forward, cross-entropy loss, backward, optimizer
step) as its images, labels and parameters. NumPy hands the subclass on through every
operation with one of those arrays as an operand, so any op that decides something on the
host from a tensor's values raises :class:`HostRead`.

Also caught: a Python bool as the condition of ``xp.where`` (``cupy.where(False, ...)`` fails,
NumPy's accepts it), by a ``numpy.where`` that insists on an array condition as CuPy's does.

What it cannot see: an array made from shapes alone (``xp.zeros``) and never combined with a
catcher array stays a plain ndarray; reads of such arrays alone go unnoticed.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn import backends, optim
from parity import rand


class HostRead(AssertionError):
    """A tensor's value was read on the host: on a GPU, a synchronisation."""


def _refuse(what: str):
    def read(self, *args, **kwargs):
        raise HostRead(f"{what} of a {self.shape} {self.dtype} array: a host read (a GPU synchronisation)")

    return read


class DeviceLikeArray(np.ndarray):
    """An ndarray that, like an array on a GPU, cannot be read on the host without a round trip."""

    __bool__ = _refuse("bool()")
    __float__ = _refuse("float()")
    __int__ = _refuse("int()")
    __index__ = _refuse("use as an index (__index__)")
    __complex__ = _refuse("complex()")
    item = _refuse(".item()")
    tolist = _refuse(".tolist()")


def device_like(array: np.ndarray) -> DeviceLikeArray:
    return np.ascontiguousarray(array).view(DeviceLikeArray)


def catcher_tensor(array: np.ndarray, requires_grad: bool = False) -> minicnn.Tensor:
    """A tensor holding ``array`` as a DeviceLikeArray (minicnn.tensor copies into a plain one)."""
    t = minicnn.tensor(array, requires_grad=requires_grad)
    t.array = device_like(t.array)
    return t


def _array_condition_where(where):
    def strict_where(condition, *values):
        if not isinstance(condition, np.ndarray):
            raise TypeError(f"where: condition is a {type(condition).__name__}, not an array (cupy.where refuses it)")
        return where(condition, *values)

    return strict_where


class _NumpyKeepingSubclasses:
    """NumPy, except that ``asarray`` keeps an ndarray subclass (it is ``asanyarray``)."""

    asarray = staticmethod(np.asanyarray)

    def __getattr__(self, name: str):
        return getattr(np, name)


@pytest.fixture
def catch_host_reads(monkeypatch):
    """Tensors keep DeviceLikeArray arrays, and xp.where wants an array condition.

    ``Tensor(array)`` turns anything but a plain ndarray into one with ``np.asarray`` (so that a
    NumPy scalar becomes a 0-d array); here it uses ``np.asanyarray``, which keeps the subclass.
    """
    monkeypatch.setattr(importlib.import_module("minicnn.autograd.tensor_core"), "np", _NumpyKeepingSubclasses())
    monkeypatch.setattr(np, "where", _array_condition_where(np.where))


def test_the_catcher_catches_each_kind_of_host_read(catch_host_reads):
    x = catcher_tensor(rand(3))
    y = (x * 2).sum()
    assert isinstance(y.array, DeviceLikeArray)
    for read, match in [(lambda: bool(y > 0), "bool"), (lambda: float(y.array), "float"),
                        (lambda: y.item(), "item"), (lambda: x.tolist(), "tolist"),
                        (lambda: int(y.array.astype(np.int64)), "int"),
                        (lambda: list(range(10))[y.array.astype(np.int64)], "index")]:
        with pytest.raises(HostRead, match=match):
            read()
    with pytest.raises(TypeError, match="cupy.where refuses"):
        np.where(False, 0, x.array)


def _lenet_step(backend: str, optimizer_name: str, dtype) -> None:
    minicnn.manual_seed(0)
    model = minicnn.models.lenet.LeNet5().to(dtype=dtype)
    for parameter in model.parameters():
        parameter.array = device_like(parameter.array)
    images, labels = catcher_tensor(rand(4, 1, 28, 28, dtype=dtype)), catcher_tensor(np.array([3, 1, 4, 1]))
    optimizer = (optim.Adam(model.parameters(), lr=1e-3) if optimizer_name == "adam"
                 else optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4))
    with backends.use_backend(backend):
        for _ in range(2):  # the second step finds the optimizer's state in place
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(model(images), labels)
            loss.backward()
            optimizer.step()
    assert isinstance(loss.array, DeviceLikeArray), "the loss lost the catcher: the test would prove nothing"
    for name, parameter in model.named_parameters():
        assert isinstance(parameter.array, DeviceLikeArray), f"{name} lost the catcher"
        assert np.isfinite(np.asarray(parameter.array)).all(), name


@pytest.mark.parametrize("optimizer_name", ["adam", "sgd"])
def test_lenet5_training_step_never_reads_on_the_host(catch_host_reads, optimizer_name, dtype):
    _lenet_step("numpy", optimizer_name, dtype)


def test_lenet5_training_step_on_the_numba_cuda_simulator_never_reads_on_the_host(catch_host_reads):
    usable, why = backends.available()["numba_cuda"]
    if not usable or backends.availability.backend_devices("numba_cuda") != ("cpu",):
        pytest.skip(f"needs numba_cuda under Numba's CUDA simulator: {why}")
    _lenet_step("numba_cuda", "sgd", np.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_ignored_and_weighted_targets_never_reads_on_the_host(catch_host_reads, reduction):
    logits = catcher_tensor(rand(5, 4), requires_grad=True)
    weight, labels = catcher_tensor(rand(4) ** 2), catcher_tensor(np.array([0, -100, 3, 2, -100]))
    F.cross_entropy(logits, labels, weight=weight, reduction=reduction, label_smoothing=0.1).sum().backward()
    assert isinstance(logits.grad.array, DeviceLikeArray)


def test_pow_by_a_number_and_var_pass_where_an_array_condition(catch_host_reads):
    x = catcher_tensor(rand(3, 4), requires_grad=True)
    ((x ** 2).sum() + (x ** 0).sum() + x.var(dim=1).sum() + x.std()).backward()
    # d/dx of x**2 + x**0 (whose derivative torch defines as 0) + var over dim 1 (4 elements,
    # unbiased: 2 (x - mean) / 3) + std over all: hand arithmetic with NumPy.
    a = np.asarray(x.array)
    std = a.std(ddof=1)
    want = 2 * a + 2 * (a - a.mean(axis=1, keepdims=True)) / 3 + (a - a.mean()) / (std * (a.size - 1))
    np.testing.assert_allclose(np.asarray(x.grad.array), want, rtol=1e-10)


def test_max_along_a_dim_sends_the_gradient_to_the_reported_index_without_put_along_axis():
    x = minicnn.tensor(np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]]), requires_grad=True)
    values, indices = x.max(dim=1)
    values.backward(minicnn.tensor(np.array([10.0, 20.0])))
    np.testing.assert_array_equal(indices.numpy(), [1, 0])  # the first maximum on ties, as torch
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 10, 0], [20, 0, 0]])
    y = minicnn.tensor(rand(2, 3, 4), requires_grad=True)
    y.min(dim=2, keepdim=True)[0].sum().backward()
    want = np.zeros((2, 3, 4))
    np.put_along_axis(want, y.numpy().argmin(axis=2)[..., None], 1.0, axis=2)
    np.testing.assert_array_equal(y.grad.numpy(), want)


def test_cross_entropy_out_of_range_target_still_raises_on_the_cpu():
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(minicnn.tensor(rand(2, 4)), minicnn.tensor(np.array([1, 7])))


def test_a_training_epoch_reads_its_loss_and_accuracy_on_the_host_once_at_the_end(catch_host_reads):
    """train_one_epoch keeps the sums on the device: the first host read is EpochTally.score,
    after every batch has been trained (the progress display, off here, would read them too)."""
    from minicnn.training.progress import EpochProgress
    from minicnn.training.trainer import train_one_epoch
    from minicnn.utils.data import DataLoader, TensorDataset

    minicnn.manual_seed(0)
    model = minicnn.models.lenet.LeNet5()
    for parameter in model.parameters():
        parameter.array = device_like(parameter.array)
    data = TensorDataset(catcher_tensor(rand(6, 1, 28, 28, dtype=np.float32)), catcher_tensor(np.arange(6) % 10))
    progress = EpochProgress("epoch", 6, enabled=False)
    with pytest.raises(HostRead) as caught:
        train_one_epoch(model, DataLoader(data, batch_size=2), nn.CrossEntropyLoss(),
                        optim.SGD(model.parameters(), lr=0.1), "cpu", progress)
    assert caught.traceback[-2].name == "score" and progress.seen == 6


@pytest.mark.parametrize("terminal", [True, False], ids=["tqdm-bar", "plain-lines"])
def test_the_progress_display_reads_the_score_only_at_its_ten_marks(terminal):
    """On a terminal (tqdm bar) or not, 100 batches read the running score at 10 marks, not per batch."""
    import io

    from minicnn.training.progress import PLAIN_LINES_PER_EPOCH, EpochProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    class CountedScore:
        reads = 0

        @property
        def loss(self) -> float:
            CountedScore.reads += 1
            return 0.5

        @property
        def accuracy(self) -> float:
            return 0.9

    progress = EpochProgress("epoch", 100, stream=Terminal())
    assert (progress.bar is not None) == terminal
    for _ in range(100):
        progress.update(1, CountedScore())
    progress.close()
    assert CountedScore.reads == PLAIN_LINES_PER_EPOCH
