"""Datasets, samplers, collation and the DataLoader, checked against torch.utils.data."""
from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import minicnn
from minicnn.utils.data import (
    ConcatDataset, DataLoader, Dataset, StackedSamples, Subset, TensorDataset, default_collate, random_split,
)
from parity import RNG, rand

Point = namedtuple("Point", "x y")


# ---------------------------------------------------------------------- default_collate vs torch
def _ints(n, low=-50, high=50):
    return RNG.integers(low, high, n)


# Each kind builds a batch of 4 samples from fresh data; ``T`` turns an ndarray into the
# library's tensor, so the same samples are built for minicnn and for torch.
COLLATE_KINDS = {
    "python-float": lambda T, x, k: [float(v) for v in x[:, 0]],
    "python-int": lambda T, x, k: [int(v) for v in k],
    "python-bool": lambda T, x, k: [bool(v % 2) for v in k],
    "np-float32-scalar": lambda T, x, k: list(x[:, 0].astype(np.float32)),
    "np-float64-scalar": lambda T, x, k: list(x[:, 0]),
    "np-int32-scalar": lambda T, x, k: list(k.astype(np.int32)),
    "np-bool-scalar": lambda T, x, k: list(k % 2 == 0),
    "ndarray-float32": lambda T, x, k: list(x.astype(np.float32)),
    "ndarray-float64": lambda T, x, k: list(x),
    "ndarray-int64": lambda T, x, k: [np.full(3, v, dtype=np.int64) for v in k],
    "ndarray-uint8-image": lambda T, x, k: [np.abs(k).astype(np.uint8).reshape(2, 2) + i for i in range(4)],
    "ndarray-bool": lambda T, x, k: list(x > 0),
    "tensor-float32": lambda T, x, k: [T(row.astype(np.float32)) for row in x],
    "tensor-float64-2d": lambda T, x, k: [T(row.reshape(1, 3)) for row in x],
    "tensor-int64": lambda T, x, k: [T(np.int64(v)) for v in k],
    "str": lambda T, x, k: ["a", "bc", "d", "ef"],
    "tuple-image-label": lambda T, x, k: [(T(row.astype(np.float32)), int(v)) for row, v in zip(x, k)],
    "list-sample": lambda T, x, k: [[row, float(v)] for row, v in zip(x, k)],
    "dict-sample": lambda T, x, k: [{"image": row, "label": int(v), "name": f"s{v}"} for row, v in zip(x, k)],
    "namedtuple": lambda T, x, k: [Point(x=float(v), y=row) for row, v in zip(x, k)],
    "nested": lambda T, x, k: [{"pair": (T(row), {"n": int(v)})} for row, v in zip(x, k)],
}


def assert_same_batch(mini, ref, where="batch"):
    """Same structure, container types, dtypes and values as torch's collated batch."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(mini, minicnn.Tensor), f"{where}: {type(mini).__name__} instead of a Tensor"
        assert str(mini.dtype) == str(ref.dtype).removeprefix("torch."), f"{where}: dtype {mini.dtype} vs {ref.dtype}"
        np.testing.assert_array_equal(mini.numpy(), ref.numpy(), err_msg=where)
    elif isinstance(ref, dict):
        assert type(mini) is type(ref) and list(mini) == list(ref), where
        for key in ref:
            assert_same_batch(mini[key], ref[key], f"{where}[{key!r}]")
    elif isinstance(ref, (list, tuple)):
        assert type(mini) is type(ref) and len(mini) == len(ref), f"{where}: {type(mini)} vs {type(ref)}"
        for i, (m, r) in enumerate(zip(mini, ref)):
            assert_same_batch(m, r, f"{where}[{i}]")
    else:
        assert mini == ref, where


@pytest.mark.parametrize("kind", COLLATE_KINDS)
def test_default_collate_matches_torch(kind):
    x, k = rand(4, 3), _ints(4)
    build = COLLATE_KINDS[kind]
    mini = default_collate(build(minicnn.tensor, x, k))
    ref = tdata.default_collate(build(torch.tensor, x, k))
    assert_same_batch(mini, ref)


@pytest.mark.parametrize("batch, error", [
    ([None, None], TypeError),
    ([np.array(["a", "b"]), np.array(["c", "d"])], TypeError),
    ([np.array([object()]), np.array([object()])], TypeError),
    ([(1, 2), (3,)], RuntimeError),
])
def test_default_collate_errors_match_torch(batch, error):
    what = "batch must contain tensors, numpy arrays" if error is TypeError else "should be of equal size"
    with pytest.raises(error, match=what) as ours:
        default_collate(batch)
    with pytest.raises(error, match=what) as theirs:
        tdata.default_collate(batch)
    assert str(ours.value) == str(theirs.value)


def test_collating_tensors_of_different_shapes_names_both_shapes():
    expected = r"stack expects each tensor to be equal size, but got \[3\] at entry 0 and \[2\] at entry 1"
    with pytest.raises(RuntimeError, match=expected):
        default_collate([minicnn.tensor(rand(3)), minicnn.tensor(rand(2))])


# ---------------------------------------------------------------------- TensorDataset
def test_tensor_dataset_samples_and_batches():
    x, y = rand(6, 2, 3), _ints(6)
    ds = TensorDataset(minicnn.tensor(x), y)  # an ndarray is accepted (wrapped, not copied)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), x[4])
    assert yi.item() == y[4]
    batch = ds.__getitems__([5, 0, 3])
    assert isinstance(batch, StackedSamples) and len(batch) == 3
    np.testing.assert_array_equal(batch.columns[0].numpy(), x[[5, 0, 3]])
    np.testing.assert_array_equal(batch[1][1].numpy(), y[0])  # still reads as a list of samples


@pytest.mark.parametrize("args, error, message", [
    ((rand(5, 2), rand(4)), ValueError,
     r"size mismatch between tensors: first dims \[5, 4\] \(shapes \(5, 2\), \(4,\)\)"),
    ((rand(3), [1, 2, 3]), TypeError, "argument 1 is a list, expected a Tensor or ndarray"),
    ((), ValueError, "expected at least one tensor"),
    ((np.array(1.0),), ValueError, "argument 0 is a 0-d tensor"),
])
def test_tensor_dataset_errors(args, error, message):
    with pytest.raises(error, match=message):
        TensorDataset(*args)


# ---------------------------------------------------------------------- DataLoader: order and length
def _dataset(n):
    x = rand(n, 3)
    return x, TensorDataset(minicnn.tensor(x), minicnn.arange(n))


@pytest.mark.parametrize("n, batch_size, drop_last", [
    (10, 1, False), (10, 3, False), (10, 3, True), (12, 4, False), (12, 4, True), (5, 8, False), (5, 8, True),
])
def test_batches_and_len_match_torch(n, batch_size, drop_last):
    x, ds = _dataset(n)
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    torch_loader = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.arange(n)),
                                    batch_size=batch_size, drop_last=drop_last)
    batches, torch_batches = list(loader), list(torch_loader)
    assert len(loader) == len(torch_loader) == len(batches) == len(torch_batches)
    for mini, ref in zip(batches, torch_batches):
        assert_same_batch(mini, ref)


def _epoch_labels(loader):
    return np.concatenate([labels.numpy() for _, labels in loader])


def test_shuffle_is_a_reproducible_permutation_under_manual_seed():
    x, ds = _dataset(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True)  # built before seeding: follows the seed anyway
    minicnn.manual_seed(7)
    first, second = _epoch_labels(loader), _epoch_labels(loader)
    minicnn.manual_seed(7)
    np.testing.assert_array_equal(_epoch_labels(loader), first)
    np.testing.assert_array_equal(_epoch_labels(loader), second)
    assert sorted(first) == list(range(23)) and not np.array_equal(first, np.arange(23))
    assert not np.array_equal(first, second)  # a fresh permutation per epoch
    for images, labels in loader:  # each batch still pairs the right image with its label
        np.testing.assert_array_equal(images.numpy(), x[labels.numpy()])


def test_a_private_generator_reproduces_the_order_and_leaves_the_global_stream_alone():
    _, ds = _dataset(17)
    before = minicnn.get_rng_state()
    orders = [_epoch_labels(DataLoader(ds, batch_size=4, shuffle=True,
                                       generator=minicnn.Generator().manual_seed(3))) for _ in range(2)]
    np.testing.assert_array_equal(orders[0], orders[1])
    assert minicnn.get_rng_state() == before


def test_explicit_sampler_and_batch_sampler():
    x, ds = _dataset(6)
    assert _epoch_labels(DataLoader(ds, batch_size=2, sampler=[4, 1, 5])).tolist() == [4, 1, 5]
    batches = [labels.tolist() for _, labels in DataLoader(ds, batch_sampler=[[0, 2], [5], [1, 3, 4]])]
    assert batches == [[0, 2], [5], [1, 3, 4]]


# ---------------------------------------------------------------------- the __getitems__ fast path
class CountingTensorDataset(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.getitem_calls = self.getitems_calls = 0

    def __getitem__(self, index):
        self.getitem_calls += 1
        return super().__getitem__(index)

    def __getitems__(self, indices):
        self.getitems_calls += 1
        return super().__getitems__(indices)


class PerSampleDataset(Dataset):
    """Only ``__getitem__``: the loader must fall back to one call per sample."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.getitem_calls = 0

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        self.getitem_calls += 1
        return tuple(t[index] for t in self.tensors)


def test_getitems_fetches_each_batch_with_one_call():
    x = rand(10, 2, 2)
    ds = CountingTensorDataset(minicnn.tensor(x), minicnn.arange(10))
    fast = list(DataLoader(ds, batch_size=4))
    assert (ds.getitems_calls, ds.getitem_calls) == (3, 0)

    slow_ds = PerSampleDataset(ds.tensors)
    slow = list(DataLoader(slow_ds, batch_size=4))
    assert slow_ds.getitem_calls == 10
    for (fx, fy), (sx, sy) in zip(fast, slow):  # both paths give identical batches
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_subsets_from_random_split_keep_the_fast_path():
    x = rand(12, 3)
    ds = CountingTensorDataset(minicnn.tensor(x), minicnn.arange(12))
    train, _ = random_split(ds, [0.75, 0.25])
    labels = _epoch_labels(DataLoader(train, batch_size=4))
    assert ds.getitems_calls == 3 and ds.getitem_calls == 0
    assert labels.tolist() == list(train.indices)


def test_custom_collate_fn_sees_a_sequence_of_samples():
    _, ds = _dataset(5)
    loader = DataLoader(ds, batch_size=3, collate_fn=lambda samples: [int(label) for _, label in samples])
    assert list(loader) == [[0, 1, 2], [3, 4]]


# ---------------------------------------------------------------------- random_split, Subset, ConcatDataset
@pytest.mark.parametrize("n, lengths", [
    (10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (7, [0.1, 0.9]), (11, [1 / 3] * 3), (600, [5 / 6, 1 / 6]), (10, [3, 7]),
])
def test_random_split_lengths_match_torch_and_partition_the_dataset(n, lengths):
    _, ds = _dataset(n)
    parts = random_split(ds, lengths, generator=minicnn.Generator().manual_seed(0))
    torch_parts = tdata.random_split(list(range(n)), lengths)
    assert [len(p) for p in parts] == [len(p) for p in torch_parts]
    covered = sorted(i for p in parts for i in p.indices)
    assert covered == list(range(n))


def test_random_split_is_reproducible_with_a_generator():
    _, ds = _dataset(20)
    a = random_split(ds, [0.5, 0.5], generator=minicnn.Generator().manual_seed(5))
    b = random_split(ds, [0.5, 0.5], generator=minicnn.Generator().manual_seed(5))
    assert [p.indices for p in a] == [p.indices for p in b]


def test_random_split_warns_about_an_empty_split_as_torch_does():
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = random_split(list(range(2)), [0.1, 0.1, 0.8])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        torch_parts = tdata.random_split(list(range(2)), [0.1, 0.1, 0.8])
    assert [len(p) for p in parts] == [len(p) for p in torch_parts]


@pytest.mark.parametrize("lengths, message", [
    ([3, 3], r"sum of input lengths \(6\) does not equal the length of the input dataset \(10\)"),
    ([1.2, -0.2], r"fraction at index 0 is not between 0 and 1 \(got 1.2\)"),
])
def test_random_split_errors(lengths, message):
    with pytest.raises(ValueError, match=message):
        random_split(_dataset(10)[1], lengths)


def test_subset_and_concat_index_like_torch():
    x, ds = _dataset(5)
    _, other = _dataset(3)
    sub = Subset(ds, [4, 0, 2])
    assert len(sub) == 3 and sub[0][1].item() == 4
    both = ds + other
    assert isinstance(both, ConcatDataset) and len(both) == 8
    reference = tdata.ConcatDataset([list(range(5)), list(range(3))])
    for i in list(range(8)) + [-1, -8]:
        assert both[i][1].item() == reference[i]
    for bad in (8, -9):
        with pytest.raises(IndexError, match="out of range for length 8"):
            both[bad]


# ---------------------------------------------------------------------- DataLoader argument errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_size=0), "batch_size should be a positive integer value, but got batch_size=0"),
    (dict(batch_size=2.5), "batch_size should be a positive integer value, but got batch_size=2.5"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None), "batch_size=None"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(num_workers=1, prefetch_factor=-1), "prefetch_factor option should be non-negative"),
])
def test_dataloader_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(_dataset(4)[1], **kwargs)


def test_torch_rejects_the_same_worker_options():
    """The worker-option errors above are torch's own (a program valid here is valid there)."""
    data = tdata.TensorDataset(torch.arange(4))
    for kwargs in (dict(timeout=-1), dict(persistent_workers=True), dict(prefetch_factor=2)):
        with pytest.raises(ValueError):
            tdata.DataLoader(data, **kwargs)


def test_worker_options_change_no_batch():
    """torch's accelerator kwargs (examples/mnist passes these) give the batches of a plain loader."""
    _, ds = _dataset(10)
    minicnn.manual_seed(5)
    plain = [y.tolist() for _, y in DataLoader(ds, batch_size=3, shuffle=True)]
    minicnn.manual_seed(5)
    with pytest.warns(UserWarning, match="num_workers=1 starts no worker processes"):
        loader = DataLoader(ds, batch_size=3, shuffle=True, num_workers=1, pin_memory=True,
                            persistent_workers=True, prefetch_factor=4, worker_init_fn=print)
    assert [y.tolist() for _, y in loader] == plain


def test_num_workers_is_accepted_with_a_warning_and_loading_stays_in_process():
    _, ds = _dataset(4)
    with pytest.warns(UserWarning, match="num_workers=2 starts no worker processes"):
        loader = DataLoader(ds, batch_size=2, num_workers=2, pin_memory=True, persistent_workers=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _epoch_labels(loader).tolist() == [0, 1, 2, 3]
