"""Tensor, factories and methods against torch: values, shapes, dtypes, errors.

Gradients of the differentiable methods are checked in test_autograd.py; indexing
gradients (including repeated indices) are checked here next to the indexing values.
"""
from __future__ import annotations

import operator
import re

import numpy as np
import pytest
import torch

import minicnn
from minicnn.ops.dims import wrap_dim
from parity import assert_close, check, rand, run_both


def dtype_name(t) -> str:
    """'float32', 'int64', 'bool' … for a torch or a minicnn tensor."""
    return str(t.dtype).removeprefix("torch.")


def assert_same(mini, ref, what: str = "") -> None:
    """minicnn's result equals torch's: shape, dtype and values (floats to the dtype's rounding)."""
    assert tuple(mini.shape) == tuple(ref.shape), f"{what}: shape {tuple(mini.shape)} != {tuple(ref.shape)}"
    assert dtype_name(mini) == dtype_name(ref), f"{what}: dtype {mini.dtype} != {ref.dtype}"
    if mini.dtype in (minicnn.float32, minicnn.float64):
        assert_close(mini, ref, mini.dtype, what)
    else:  # integers, bools, and float16 made by rounding the same numbers
        np.testing.assert_array_equal(mini.numpy(), ref.detach().numpy(), err_msg=what)


def both(fn, *arrays):
    """Run ``fn(lib, *tensors)`` on minicnn and torch tensors made from the same arrays."""
    mini, ref = run_both(lambda lib, F, *ts: fn(lib, *ts), *arrays,
                         requires_grad=[False] * len(arrays), seed_grad=False)
    return mini.out, ref.out


@pytest.fixture
def default_float64():
    """Switch both libraries to float64 defaults for one test."""
    minicnn.set_default_dtype(minicnn.float64)
    torch.set_default_dtype(torch.float64)
    yield
    minicnn.set_default_dtype(minicnn.float32)
    torch.set_default_dtype(torch.float32)


# ---------------------------------------------------------------------- factories
@pytest.mark.parametrize("data", [
    1.5, 3, True, [1.0, 2.0], [1, 2], [True, False], [1, 2.5], [[1, 2], [3, 4]],
    [[0.5, -1.0], [2.0, 3.0]], np.float64(2.0), np.int32(7),
], ids=repr)
def test_tensor_dtype_inference_from_python_and_numpy_scalars(data):
    assert_same(minicnn.tensor(data), torch.tensor(data), f"tensor({data!r})")


@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.int32, np.int64, np.uint8, np.bool_])
def test_tensor_from_numpy_array_keeps_dtype_and_copies(np_dtype):
    array = (rand(2, 3) > 0) if np_dtype is np.bool_ else (rand(2, 3) * 10).astype(np_dtype)
    t = minicnn.tensor(array)
    assert_same(t, torch.tensor(array))
    assert not np.shares_memory(t.numpy(), array), "tensor() must copy"


def test_tensor_of_tensors_and_of_strings():
    assert_same(minicnn.tensor([minicnn.tensor(1.5), minicnn.tensor(2.5)]),
                torch.tensor([torch.tensor(1.5), torch.tensor(2.5)]))
    with pytest.raises(TypeError, match="tensor"):
        minicnn.tensor(["a", "b"])


def test_from_numpy_shares_memory_both_ways():
    array = rand(3, 4)
    t = minicnn.from_numpy(array)
    assert t.dtype == minicnn.float64
    array[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.array[1, 2] = -7.0
    assert array[1, 2] == -7.0
    with pytest.raises(TypeError, match="np.ndarray"):
        minicnn.from_numpy([1.0, 2.0])


def test_as_tensor_shares_when_nothing_changes():
    array = rand(3)
    assert minicnn.as_tensor(array).array is array
    assert minicnn.as_tensor(array, dtype=minicnn.float32).dtype == minicnn.float32
    t = minicnn.tensor([1.0])
    assert minicnn.as_tensor(t) is t


def test_set_default_dtype_changes_python_floats_and_factories(default_float64):
    assert minicnn.get_default_dtype() == minicnn.float64
    for make in (lambda lib: lib.tensor(1.5), lambda lib: lib.zeros(2), lambda lib: lib.ones(2, 1),
                 lambda lib: lib.arange(0.0, 1.0, 0.5), lambda lib: lib.tensor([1, 2]) * 0.5,
                 lambda lib: lib.tensor([1, 2]) / 2):
        assert dtype_name(make(minicnn)) == dtype_name(make(torch))
    assert minicnn.randn(2).dtype == minicnn.float64
    assert minicnn.rand(2).dtype == minicnn.float64


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError, match="floating-point"):
        minicnn.set_default_dtype(minicnn.int64)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([4, 1, 2],), (5,), ((),)], ids=repr)
def test_constant_factories(name, size):
    mini, ref = getattr(minicnn, name)(*size), getattr(torch, name)(*size)
    assert tuple(mini.shape) == tuple(ref.shape) and dtype_name(mini) == dtype_name(ref)
    if name != "empty":  # torch's empty is uninitialised
        assert_same(mini, ref)
    assert_same(getattr(minicnn, name)(*size, dtype=minicnn.int64) * 0,
                getattr(torch, name)(*size, dtype=torch.int64) * 0)


@pytest.mark.parametrize("fill", [2.5, 3, True])
def test_full_and_like_factories(fill):
    assert_same(minicnn.full((2, 3), fill), torch.full((2, 3), fill))
    x = rand(2, 3)
    assert_same(minicnn.zeros_like(minicnn.tensor(x)), torch.zeros_like(torch.tensor(x)))
    assert_same(minicnn.ones_like(minicnn.tensor(x), dtype=minicnn.int64),
                torch.ones_like(torch.tensor(x), dtype=torch.int64))


def test_factories_reject_negative_sizes_and_integer_random_dtypes():
    with pytest.raises(RuntimeError, match="zeros: Dimension size must be non-negative"):
        minicnn.zeros(-1, 2)
    with pytest.raises(RuntimeError, match="randn: expected a floating-point dtype"):
        minicnn.randn(2, dtype=minicnn.int64)


def test_requires_grad_factories():
    for t in (minicnn.zeros(2, requires_grad=True), minicnn.randn(2, 2, requires_grad=True),
              minicnn.tensor([1.0], requires_grad=True), minicnn.arange(3.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad is None
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        minicnn.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        minicnn.zeros(2, dtype=minicnn.int64, requires_grad=True)


@pytest.mark.parametrize("args", [(5,), (1, 4), (0, 1, 0.25), (5.0,), (10, 0, -3), (-2.5, 2.5, 0.5)], ids=repr)
def test_arange(args):
    assert_same(minicnn.arange(*args), torch.arange(*args), f"arange{args}")


def test_arange_rejects_zero_step():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        minicnn.arange(0, 3, 0)


def test_random_factories_shapes_ranges_and_seeding():
    minicnn.manual_seed(123)
    a = minicnn.randn(3, 4)
    u = minicnn.rand(1000)
    minicnn.manual_seed(123)
    np.testing.assert_array_equal(minicnn.randn(3, 4).numpy(), a.numpy())
    assert a.shape == (3, 4) and a.dtype == minicnn.float32
    assert 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    big = minicnn.randn(20000, dtype=minicnn.float64).numpy()
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1.0) < 0.05


def test_manual_seed_reseeds_the_generator_that_others_hold():
    held = minicnn.random.default_generator()
    minicnn.manual_seed(7)
    first = held.random(3)
    minicnn.manual_seed(7)
    np.testing.assert_array_equal(minicnn.random.default_generator().random(3), first)
    assert minicnn.random.default_generator() is held
    assert isinstance(minicnn.random.seed(), int)
    minicnn.manual_seed(-5)  # torch accepts negative seeds
    g = minicnn.Generator().manual_seed(3)
    np.testing.assert_array_equal(g.random(2), minicnn.Generator().manual_seed(3).random(2))


@pytest.mark.parametrize("args,kwargs", [((10, (3,)), {}), ((2, 5, (4, 2)), {}), ((5,), {"size": (2, 2)})],
                         ids=["high-size", "low-high-size", "size-keyword"])
def test_randint_signatures(args, kwargs):
    mini, ref = minicnn.randint(*args, **kwargs), torch.randint(*args, **kwargs)
    assert tuple(mini.shape) == tuple(ref.shape) and dtype_name(mini) == dtype_name(ref)
    low, high = (0, args[0]) if len(args) < 3 else args[:2]
    assert low <= mini.numpy().min() and mini.numpy().max() < high


def test_randperm_linspace_eye():
    assert sorted(minicnn.randperm(6).tolist()) == list(range(6))
    assert_same(minicnn.linspace(-1, 1, 7), torch.linspace(-1, 1, 7))
    assert_same(minicnn.eye(3, 4), torch.eye(3, 4))


# ---------------------------------------------------------------------- description, conversion
def test_description_methods(dtype):
    x = rand(2, 3, 4, dtype=dtype)
    m, t = minicnn.tensor(x), torch.tensor(x)
    assert m.shape == tuple(t.shape) and m.size() == tuple(t.size())
    assert [m.size(d) for d in (0, 1, 2, -1, -3)] == [t.size(d) for d in (0, 1, 2, -1, -3)]
    assert m.dim() == t.dim() == m.ndim and m.numel() == t.numel()
    assert dtype_name(m) == dtype_name(t)
    assert m.device == minicnn.device("cpu") and str(m.device) == "cpu"
    assert m.is_leaf and not m.requires_grad and m.grad is None and m.is_floating_point()
    with pytest.raises(IndexError, match="Dimension out of range"):
        m.size(3)


def test_item_tolist_and_python_conversions(dtype):
    x = rand(2, 3, dtype=dtype)
    m, t = minicnn.tensor(x), torch.tensor(x)
    assert m.tolist() == t.tolist()
    assert m[1, 2].item() == t[1, 2].item() and isinstance(m[1, 2].item(), float)
    assert minicnn.tensor(5).item() == 5 and isinstance(minicnn.tensor(5).item(), int)
    assert minicnn.tensor([[2.5]]).item() == 2.5  # any single element
    assert minicnn.tensor(2.5).tolist() == torch.tensor(2.5).tolist()
    assert float(m[0, 0]) == float(t[0, 0]) and int(minicnn.tensor(3.7)) == int(torch.tensor(3.7))
    assert bool(minicnn.tensor([1.0])) and not bool(minicnn.tensor(0))
    assert [10, 20, 30][minicnn.tensor(2)] == 30
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        m.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(m)
    with pytest.raises(TypeError, match="only integer tensors"):
        [1, 2][minicnn.tensor(1.0)]


def test_numpy_and_array_protocol():
    x = rand(3)
    m = minicnn.from_numpy(x)
    assert m.numpy() is x
    assert np.asarray(m) is x
    assert np.asarray(m, dtype=np.float32).dtype == np.float32
    result = x + minicnn.tensor(x)  # ndarray + Tensor defers to Tensor.__radd__
    assert isinstance(result, minicnn.Tensor)
    np.testing.assert_array_equal(result.numpy(), 2 * x)


@pytest.mark.parametrize("target", ["float64", "float32", "int64", "int32", "bool", "float16"])
def test_to_dtype_and_shortcuts(target):
    x = rand(2, 3) * 3
    assert_same(minicnn.tensor(x).to(getattr(minicnn, target)), torch.tensor(x).to(getattr(torch, target)))
    assert_same(minicnn.tensor(x).to(dtype=getattr(minicnn, target)),
                torch.tensor(x).to(dtype=getattr(torch, target)))
    shortcut = {"float64": "double", "float32": "float", "int64": "long", "int32": "int", "bool": "bool",
                "float16": "half"}[target]
    assert_same(getattr(minicnn.tensor(x), shortcut)(), getattr(torch.tensor(x), shortcut)())


def test_to_same_dtype_or_cpu_returns_self_and_to_other_tensor():
    m = minicnn.tensor(rand(2))
    assert m.to(minicnn.float64) is m and m.to("cpu") is m and m.to(minicnn.device("cpu")) is m
    assert m.cpu() is m and m.to("cpu", minicnn.float64) is m
    assert m.to("cpu", copy=True) is not m
    assert m.to(minicnn.zeros(1, dtype=minicnn.float32)).dtype == minicnn.float32


def test_to_cuda_raises_a_clear_error_without_a_gpu():
    if minicnn.cuda.is_available():
        pytest.skip("a CUDA GPU is usable here, so moving to it must succeed instead")
    assert minicnn.cuda.is_available() is False and minicnn.cuda.device_count() == 0
    m = minicnn.tensor([1.0])
    for move in (lambda: m.to("cuda"), lambda: m.cuda(), lambda: minicnn.zeros(2, device="cuda")):
        with pytest.raises(RuntimeError, match="needs a CUDA GPU, but none is usable here"):
            move()


def test_device_objects():
    assert minicnn.device("cpu") == "cpu" and minicnn.device("cuda:0") == minicnn.device("cuda")
    assert minicnn.device("cuda:1") != minicnn.device("cuda:2")
    assert repr(minicnn.device("cuda", 1)) == repr(torch.device("cuda", 1))
    assert str(minicnn.device("cuda:1")) == str(torch.device("cuda:1"))
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        minicnn.device("tpu")


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True),
    lambda lib: lib.tensor(1.5),
    lambda lib: lib.tensor([1, 2, 3]),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
    lambda lib: lib.zeros(0, 3),
], ids=["requires-grad", "scalar", "int", "bool", "float64", "empty"])
def test_repr_matches_torch_for_simple_tensors(make):
    assert repr(make(minicnn)) == repr(make(torch)).replace("torch.", "minicnn.")


def test_repr_of_a_result_names_its_node_and_format_works():
    y = minicnn.tensor([1.0, 2.0], requires_grad=True) * 2
    assert "grad_fn=<MulBackward>" in repr(y)
    assert f"{minicnn.tensor(1.23456):.3f}" == f"{torch.tensor(1.23456):.3f}" == "1.235"
    with pytest.raises(TypeError, match=r"unsupported format string passed to Tensor.__format__"):
        f"{minicnn.tensor([1.0, 2.0]):.3f}"


def test_len_and_iter(dtype):
    x = rand(3, 2, dtype=dtype)
    m, t = minicnn.tensor(x), torch.tensor(x)
    assert len(m) == len(t) == 3
    for a, b in zip(m, t):
        assert_same(a, b)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(minicnn.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(minicnn.tensor(1.0))


# ---------------------------------------------------------------------- math, comparisons
@pytest.mark.parametrize("op", [
    lambda lib, x: x.exp(), lambda lib, x: x.abs().log(), lambda lib, x: x.abs().sqrt(),
    lambda lib, x: x.abs(), lambda lib, x: abs(x), lambda lib, x: -x,
    lambda lib, x: x.clamp(-0.5, 0.5), lambda lib, x: x.clamp(min=0.1), lambda lib, x: x.clamp(max=0.2),
    lambda lib, x: lib.exp(x), lambda lib, x: lib.clamp(x, min=-0.3),
], ids=["exp", "log", "sqrt", "abs", "builtin-abs", "neg", "clamp", "clamp-min", "clamp-max",
        "lib.exp", "lib.clamp"])
def test_unary_math_values(op, dtype):
    assert_same(*both(op, rand(3, 4, dtype=dtype)))


def test_unary_math_on_integers_gives_torchs_dtypes():
    for op in (lambda x: x.exp(), lambda x: x.sqrt(), lambda x: x.log(), lambda x: x.abs(),
               lambda x: x.clamp(0, 2), lambda x: x / 2, lambda x: x * 2):
        assert_same(op(minicnn.arange(1, 5)), op(torch.arange(1, 5)))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        minicnn.tensor([1.0]).clamp()


@pytest.mark.parametrize("op", [
    lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
    lambda a, b: a > b, lambda a, b: a >= b, lambda a, b: a.eq(b), lambda a, b: a.ne(b),
    lambda a, b: a.lt(b), lambda a, b: a.le(b), lambda a, b: a.gt(b), lambda a, b: a.ge(b),
], ids=["==", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_give_bool_tensors(op, dtype):
    a = rand(3, 4, dtype=dtype)
    b = a.copy()
    b[0] += 1.0  # some equal, some not
    assert_same(*both(lambda lib, x, y: op(x, y), a, b))  # same shape
    assert_same(*both(lambda lib, x, y: op(x, y), a, b[:1]))  # broadcasting
    assert_same(*both(lambda lib, x: op(x, 0.0), a))  # a Python number
    assert_same(*both(lambda lib, x: op(x, x.max()), a))  # a 0-d tensor


def test_logical_ops_and_equal_allclose():
    a, b = rand(5) > 0, rand(5) > 0
    for op in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x):
        assert_same(op(minicnn.tensor(a), minicnn.tensor(b)), op(torch.tensor(a), torch.tensor(b)))
    x = rand(4)
    assert minicnn.equal(minicnn.tensor(x), minicnn.tensor(x.copy()))
    assert not minicnn.tensor(x).equal(minicnn.tensor(x[:3]))
    assert minicnn.allclose(minicnn.tensor(x), minicnn.tensor(x + 1e-12))
    assert minicnn.tensor(x).all().dtype == minicnn.bool


# ---------------------------------------------------------------------- dtype promotion
PROMOTION_OPERANDS = {
    "f32": lambda lib: lib.ones(2, 3, dtype=lib.float32),
    "f64": lambda lib: lib.ones(2, 3, dtype=lib.float64),
    "f16": lambda lib: lib.ones(3, dtype=lib.float16),
    "i64": lambda lib: lib.ones(2, 3, dtype=lib.int64),
    "i32": lambda lib: lib.ones(3, dtype=lib.int32),
    "u8": lambda lib: lib.ones(3, dtype=lib.uint8),
    "bool": lambda lib: lib.ones(3, dtype=lib.bool),
    "f64-0d": lambda lib: lib.tensor(2.0, dtype=lib.float64),
    "f32-0d": lambda lib: lib.tensor(2.0),
    "i64-0d": lambda lib: lib.tensor(2),
    "py-float": lambda lib: 2.5,
    "py-int": lambda lib: 2,
    "py-bool": lambda lib: True,
}
PROMOTION_PAIRS = [
    ("f32", "f64"), ("f64", "f32"), ("i64", "f32"), ("f32", "i64"), ("i32", "f16"), ("u8", "i32"),
    ("bool", "i32"), ("f32", "f64-0d"), ("i64", "f64-0d"), ("i32", "i64-0d"), ("bool", "f32-0d"),
    ("f32", "py-float"), ("i64", "py-float"), ("f16", "py-float"), ("bool", "py-int"),
    ("i32", "py-int"), ("f32", "py-bool"), ("py-float", "i64"), ("f64-0d", "f32-0d"),
]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
@pytest.mark.parametrize("left,right", PROMOTION_PAIRS, ids=lambda p: str(p))
def test_binary_op_result_dtype_matches_torch(left, right, op):
    fn = getattr(operator, op)

    def run(lib):
        return fn(PROMOTION_OPERANDS[left](lib), PROMOTION_OPERANDS[right](lib))

    try:
        want = run(torch)
    except RuntimeError as error:  # torch refuses `-` with any bool operand
        with pytest.raises(RuntimeError, match=re.escape(str(error))):
            run(minicnn)
        return
    assert_same(run(minicnn), want, f"{left} {op} {right}")


def test_numpy_scalar_operands_do_not_upcast():
    # np.float64 counts as a 0-d operand (lower priority), as in torch.
    assert_same(minicnn.ones(2) * np.float64(0.5), torch.ones(2) * np.float64(0.5))
    assert_same(np.float64(0.5) * minicnn.ones(2), np.float64(0.5) * torch.ones(2))


# ---------------------------------------------------------------------- reductions (values)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False),
                                         ((0, 2), False), ((0, -1), True), ([], False)], ids=repr)
def test_sum_mean_values(dim, keepdim, dtype):
    x = rand(2, 3, 4, dtype=dtype)
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    assert_same(*both(lambda lib, t: t.sum(**kwargs), x))
    if dim != []:  # torch's mean over dim=[] is its own deprecated special case
        assert_same(*both(lambda lib, t: t.mean(**kwargs), x))
    assert_same(*both(lambda lib, t: lib.sum(t, **kwargs), x))


def test_sum_of_integers_and_bools_and_dtype_argument():
    for x in (np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3) > 2,
              np.arange(6, dtype=np.int32).reshape(2, 3)):
        assert_same(minicnn.tensor(x).sum(1), torch.tensor(x).sum(1))
    assert_same(minicnn.arange(4).sum(dtype=minicnn.float64), torch.arange(4).sum(dtype=torch.float64))
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        minicnn.arange(3).mean()


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False), (2, True)])
def test_max_min_with_dim_return_values_and_indices(name, dim, keepdim, dtype):
    x = rand(3, 4, 5, dtype=dtype)
    x[0, 1, :2] = x[0, 1, 3]  # ties: torch reports the first index; so must we
    mini, ref = both(lambda lib, t: getattr(t, name)(dim, keepdim=keepdim), x)
    assert isinstance(mini, tuple) and len(mini) == 2
    assert_same(mini.values, ref.values, "values")
    assert_same(mini.indices, ref.indices, "indices")
    values, indices = mini
    assert values is mini.values and indices is mini.indices
    assert_same(*both(lambda lib, t: getattr(lib, name)(t, dim, keepdim).indices, x))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_full_reductions_and_arg_reductions(name, dtype):
    x = rand(3, 4, dtype=dtype)
    assert_same(*both(lambda lib, t: getattr(t, name)(), x))
    if name.startswith("arg"):
        for dim, keepdim in ((0, False), (1, True), (-1, False), (None, True)):
            assert_same(*both(lambda lib, t: getattr(t, name)(dim=dim, keepdim=keepdim), x))
        assert_same(*both(lambda lib, t: getattr(lib, name)(t, 1), x))


def test_reduction_on_a_0d_tensor(dtype):
    x = np.asarray(rand(1, dtype=dtype)[0])
    for op in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.max(0).values, lambda t: t.max(-1).indices,
               lambda t: t.argmax(0), lambda t: t.mean(-1)):
        assert_same(*both(lambda lib, t: op(t), x))


def test_elementwise_max_min_of_two_tensors(dtype):
    a, b = rand(3, 4, dtype=dtype), rand(4, dtype=dtype)
    for op in (lambda lib, x, y: lib.maximum(x, y), lambda lib, x, y: lib.minimum(x, y),
               lambda lib, x, y: x.max(y), lambda lib, x, y: lib.min(x, y)):
        assert_same(*both(op, a, b))


def test_reduction_errors_match_torch():
    x = minicnn.zeros(2, 3)
    with pytest.raises(IndexError, match="Dimension out of range \\(expected to be in range of \\[-2, 1\\], but got 2\\)"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0"):
        minicnn.zeros(0).max()
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 0 to have non-zero size"):
        minicnn.zeros(0, 3).max(0)
    with pytest.raises(TypeError, match="max\\(\\): dim must be an int"):
        x.max(dim=(0, 1))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.argmax(5)


# ---------------------------------------------------------------------- shape ops (values, errors)
@pytest.mark.parametrize("op", [
    lambda lib, t: t.view(6, 4), lambda lib, t: t.view(-1), lambda lib, t: t.reshape((4, -1)),
    lambda lib, t: t.reshape([2, 12]), lambda lib, t: t.flatten(), lambda lib, t: t.flatten(1),
    lambda lib, t: t.flatten(0, 1), lambda lib, t: lib.flatten(t, -2), lambda lib, t: t.permute(2, 0, 1),
    lambda lib, t: t.permute((1, -1, 0)), lambda lib, t: t.transpose(0, 2), lambda lib, t: t.transpose(-1, 1),
    lambda lib, t: t.unsqueeze(0), lambda lib, t: t.unsqueeze(-1), lambda lib, t: t.unsqueeze(2),
    lambda lib, t: t[:, :1].squeeze(), lambda lib, t: t[:, :1].squeeze(1), lambda lib, t: t.squeeze(0),
    lambda lib, t: t[:1, :, :1].squeeze((0, 2)), lambda lib, t: t[:, :1].expand(2, 3, 4),
    lambda lib, t: t[:, :1].expand(5, -1, 3, -1), lambda lib, t: t[0].T, lambda lib, t: t[0].t(),
    lambda lib, t: t.view_as(t.flatten()), lambda lib, t: t[0].expand_as(t),
], ids=lambda f: "")
def test_shape_op_values(op, dtype):
    assert_same(*both(op, rand(2, 3, 4, dtype=dtype)))


@pytest.mark.parametrize("op", [
    lambda t: t.chunk(2, 1), lambda t: t.chunk(3), lambda t: t.chunk(4, -1),
    lambda t: t.split(2, 2), lambda t: t.split([1, 2], 1), lambda t: t.split(5, 0),
], ids=["chunk2", "chunk3", "chunk4", "split2", "split-sizes", "split-big"])
def test_chunk_and_split(op, dtype):
    x = rand(3, 3, 5, dtype=dtype)
    mini, ref = op(minicnn.tensor(x)), op(torch.tensor(x))
    assert len(mini) == len(ref)
    for a, b in zip(mini, ref):
        assert_same(a, b)


def test_flatten_of_0d_and_empty():
    assert_same(minicnn.tensor(2.0).flatten(), torch.tensor(2.0).flatten())
    assert_same(minicnn.zeros(0, 3).flatten(), torch.zeros(0, 3).flatten())


@pytest.mark.parametrize("bad", [
    lambda t: t.permute(0, 5, 1), lambda t: t.transpose(0, 3), lambda t: t.unsqueeze(4),
    lambda t: t.unsqueeze(-5), lambda t: t.squeeze(3), lambda t: t.flatten(0, 3), lambda t: t.size(-4),
], ids=["permute", "transpose", "unsqueeze", "unsqueeze-neg", "squeeze", "flatten", "size"])
def test_dim_out_of_range_raises_index_error_like_torch(bad):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of") as ref:
        bad(torch.zeros(2, 3, 4))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of") as mini:
        bad(minicnn.zeros(2, 3, 4))
    assert str(mini.value) == str(ref.value)


@pytest.mark.parametrize("bad,message", [
    (lambda t: t.view(5, 5), "shape '\\[5, 5\\]' is invalid for input of size 24"),
    (lambda t: t.permute(0, 1), "input.dim\\(\\) = 3 is not equal to len\\(dims\\) = 2"),
    (lambda t: t.permute(0, 0, 1), "duplicate dims are not allowed"),
    (lambda t: t.expand(2, 5, 4), "expanded size of the tensor \\(5\\) must match the existing size \\(3\\)"),
    (lambda t: t.expand(-1, 2, 3, 4), "isn't allowed in a leading, non-existing dimension 0"),
    (lambda t: t.expand(3, 4), "must be greater or equal to the number of dimensions"),
    (lambda t: t.flatten(2, 1), "start_dim cannot come after end_dim"),
    (lambda t: t.split([1, 2], 0), "split_sizes to sum exactly to 2"),
], ids=["view", "permute-len", "permute-dup", "expand", "expand-lead", "expand-few", "flatten", "split"])
def test_shape_op_errors(bad, message):
    with pytest.raises(RuntimeError, match=message):
        bad(torch.zeros(2, 3, 4))
    with pytest.raises(RuntimeError, match=message):
        bad(minicnn.zeros(2, 3, 4))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_values_and_promotion(dim, dtype):
    a, b = rand(2, 3, dtype=dtype), rand(2, 3, dtype=dtype)
    assert_same(*both(lambda lib, x, y: lib.cat([x, y], dim), a, b))
    assert_same(*both(lambda lib, x, y: lib.cat((x, y[:, :1] if dim else y[:1]), dim=dim), a, b))
    assert_same(*both(lambda lib, x, y: lib.stack([x, y], dim), a, b))
    assert_same(*both(lambda lib, x, y: lib.stack([x, y], dim=dim - 1 if dim < 0 else dim + 1), a, b))
    for other in ("float64", "float32", "int64"):
        assert_same(*both(lambda lib, x: lib.cat([x, lib.ones(1, 3, dtype=getattr(lib, other))]), a))
        assert_same(*both(lambda lib, x: lib.stack([x, lib.ones(2, 3, dtype=getattr(lib, other))]), a))


@pytest.mark.parametrize("bad,message", [
    (lambda lib: lib.stack([]), "stack expects a non-empty TensorList"),
    (lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]), "zero-dimensional tensor \\(at position 0\\)"),
    (lambda lib: lib.cat([lib.zeros(2, 3), lib.zeros(2, 4)]), "Sizes of tensors must match except in dimension 0"),
    (lambda lib: lib.cat([lib.zeros(2, 3), lib.zeros(3)]), "Tensors must have same number of dimensions"),
    (lambda lib: lib.stack([lib.zeros(2, 3), lib.zeros(3, 2)]), "stack expects each tensor to be equal size"),
], ids=["stack-empty", "cat-0d", "cat-sizes", "cat-ndim", "stack-sizes"])
def test_cat_stack_errors(bad, message):
    with pytest.raises(RuntimeError, match=message):
        bad(torch)
    with pytest.raises(RuntimeError, match=message):
        bad(minicnn)


def test_cat_of_nothing_and_bad_dim():
    with pytest.raises(ValueError, match="cat\\(\\): expected a non-empty list of Tensors"):
        torch.cat([])
    with pytest.raises(ValueError, match="cat\\(\\): expected a non-empty list of Tensors"):
        minicnn.cat([])
    with pytest.raises(IndexError, match="Dimension out of range"):
        minicnn.cat([minicnn.zeros(2)], dim=1)
    with pytest.raises(TypeError, match="element 1 is list"):
        minicnn.stack([minicnn.zeros(2), [1.0, 2.0]])


# ---------------------------------------------------------------------- indexing
INDEX_KEYS = {
    "int": lambda lib: 1,
    "negative": lambda lib: -1,
    "int-int": lambda lib: (2, -1),
    "slice": lambda lib: slice(1, 3),
    "step": lambda lib: (slice(None), slice(0, 5, 2)),
    "neg-slice": lambda lib: (slice(-3, -1), slice(None, -2)),
    "none": lambda lib: (None, 1),
    "ellipsis": lambda lib: (Ellipsis, 1),
    "ellipsis-none": lambda lib: (0, Ellipsis, None, slice(1, None)),
    "bool-mask-rows": lambda lib: lib.tensor([True, False, True, True]),
    "int-array": lambda lib: lib.tensor([3, 0, 2]),
    "repeated": lambda lib: lib.tensor([1, 1, 3, 1]),
    "list-repeated": lambda lib: [0, 0, 2],
    "two-arrays-repeated": lambda lib: (lib.tensor([0, 0, 1]), lib.tensor([2, 2, 4])),
    "array-and-slice": lambda lib: (slice(None), [4, 4, 0]),
    "0d-int-tensor": lambda lib: lib.tensor(2),
}


@pytest.mark.parametrize("key", INDEX_KEYS, ids=str)
def test_indexing_values_and_gradients(key, dtype):
    """Values and gradients vs torch; repeated indices must accumulate their gradients."""
    mini, ref = run_both(lambda lib, F, x: x[INDEX_KEYS[key](lib)], rand(4, 5, dtype=dtype))
    check(mini, ref, dtype, f"x[{key}]")


def test_boolean_mask_of_the_same_shape(dtype):
    x = rand(3, 4, dtype=dtype)
    mini, ref = run_both(lambda lib, F, t: t[t > 0] * 2, x)
    check(mini, ref, dtype, "x[x > 0]")


def test_indexing_out_of_range_and_bad_key_types():
    x = minicnn.zeros(3, 2)
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for (axis|dimension) 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match=r"used as indices must be"):
        x[minicnn.tensor([0.5])]


def test_setitem_matches_torch(dtype):
    x = rand(4, 5, dtype=dtype)

    def write(lib, t):
        t[0] = 1.5
        t[1:3, ::2] = lib.zeros(3, dtype=t.dtype)
        t[t > 1.0] = -1.0
        t[[3, 3], [0, 1]] = 7.0
        return t

    assert_same(*both(write, x))


# ---------------------------------------------------------------------- in place
@pytest.mark.parametrize("op", [
    lambda lib, t, o: t.zero_(), lambda lib, t, o: t.fill_(2.5), lambda lib, t, o: t.copy_(o),
    lambda lib, t, o: t.copy_(o[0]), lambda lib, t, o: t.add_(o), lambda lib, t, o: t.add_(o, alpha=-2),
    lambda lib, t, o: t.sub_(o), lambda lib, t, o: t.mul_(o[0]), lambda lib, t, o: t.div_(2.0),
    lambda lib, t, o: t.clamp_(-0.1, 0.2), lambda lib, t, o: t.add_(1),
    lambda lib, t, o: t.clamp_(min=o), lambda lib, t, o: t.pow_(2), lambda lib, t, o: t.neg_(),
    lambda lib, t, o: t.abs_().sqrt_(), lambda lib, t, o: t.exp_(), lambda lib, t, o: t.relu_(),
    lambda lib, t, o: t.sigmoid_(), lambda lib, t, o: t.tanh_(), lambda lib, t, o: t.abs_().log_(),
], ids=["zero_", "fill_", "copy_", "copy_-broadcast", "add_", "add_-alpha", "sub_", "mul_", "div_",
        "clamp_", "add_-number", "clamp_-tensor", "pow_", "neg_", "sqrt_", "exp_", "relu_", "sigmoid_",
        "tanh_", "log_"])
def test_in_place_ops_change_the_tensor_itself(op, dtype):
    x, other = rand(3, 4, dtype=dtype), rand(3, 4, dtype=dtype)
    m, t = minicnn.tensor(x), torch.tensor(x)
    alias = m.array
    assert op(minicnn, m, minicnn.tensor(other)) is m
    op(torch, t, torch.tensor(other))
    assert_same(m, t)
    assert m.array is alias, "an in-place op must write into the same array"


def test_in_place_ops_refuse_leaves_that_require_grad_under_grad_mode():
    for op in (lambda t: t.zero_(), lambda t: t.add_(1.0), lambda t: t.copy_(minicnn.ones(2)),
               lambda t: t.fill_(1.0), lambda t: t.__setitem__(0, 1.0), lambda t: t.mul_(2.0)):
        w = minicnn.zeros(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            op(w)
        with minicnn.no_grad():  # how optimizers and init update parameters
            op(w)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        torch.zeros(2, requires_grad=True).add_(1.0)


SETITEM_KEYS = {
    "int": lambda lib: 1,
    "slice": lambda lib: (slice(1, 3), slice(None, None, 2)),
    "mask": lambda lib: lib.tensor([True, False, True, False]),
    "repeated-index": lambda lib: ([0, 2, 0], [1, 1, 1]),
    "ellipsis": lambda lib: (Ellipsis, 0),
}


@pytest.mark.parametrize("key", SETITEM_KEYS)
@pytest.mark.parametrize("value", ["tensor", "broadcast", "number"])
def test_item_assignment_in_a_graph_is_recorded_like_torch(key, value, dtype):
    def program(lib, F, x, v):
        y = x * 2
        selected = y[SETITEM_KEYS[key](lib)]
        y[SETITEM_KEYS[key](lib)] = {"tensor": v[: selected.numel()].reshape(selected.shape),
                                     "broadcast": v[0], "number": 0.5}[value]
        return y * x

    mini, ref = run_both(program, rand(4, 5, dtype=dtype), rand(20, dtype=dtype),
                         requires_grad=[True, value != "number"])
    check(mini, ref, dtype, f"y[{key}] = {value}")


def test_item_assignment_of_a_graph_value_into_a_plain_tensor_joins_the_graph(dtype):
    def program(lib, F, v):
        buffer = lib.zeros(3, 2, dtype=v.dtype)
        buffer[1] = v.exp()
        return buffer

    check(*run_both(program, rand(2, dtype=dtype)), dtype, "buffer[1] = v.exp()")


def test_integer_tensor_rejects_float_in_place_update_like_torch():
    with pytest.raises(RuntimeError, match=r"result type Float can't be cast to the desired output type Long"):
        torch.arange(3).add_(0.5)
    with pytest.raises(RuntimeError, match=r"add_: result type float32 can.t be cast to the desired output type int64"):
        minicnn.arange(3).add_(0.5)
    with pytest.raises(RuntimeError, match=r"div_: result type float32 can't be cast to the desired output type int64"):
        minicnn.arange(3).div_(2)


def test_wrap_dim_helper():
    assert [wrap_dim(d, 3) for d in (0, 2, -1, -3)] == [0, 2, 2, 0]
    assert wrap_dim(-1, 0) == 0  # a 0-d tensor accepts dim 0 and -1


# ---------------------------------------------------------------------- torch.Size
def test_shape_and_size_are_a_size_like_torch():
    m, t = minicnn.ones(2, 3, 4), torch.ones(2, 3, 4)
    for got, want in ((m.shape, t.shape), (m.size(), t.size()), (m.shape[1:], t.shape[1:]),
                      (m.shape + (5,), t.shape + (5,)), ((1,) + m.shape, (1,) + t.shape),
                      (m.shape * 2, t.shape * 2), (minicnn.Size([]), torch.Size([]))):
        assert isinstance(got, minicnn.Size) and isinstance(got, tuple)
        assert got == tuple(want) and tuple(want) == got
        assert got.numel() == want.numel()
        assert repr(got) == repr(want).replace("torch.", "minicnn.")
    assert m.shape[0] == 2 and isinstance(m.shape[0], int) and m.size(-1) == t.size(-1) == 4
    a, b, c = m.shape
    assert (a, b, c) == (2, 3, 4)
    assert minicnn.zeros(m.shape).shape == (2, 3, 4)  # a Size is accepted wherever sizes are


def test_size_of_a_0d_tensor_and_bad_dims_raise_like_torch():
    assert minicnn.tensor(1.0).shape == torch.tensor(1.0).shape == ()
    assert minicnn.tensor(1.0).shape.numel() == 1
    with pytest.raises(IndexError):
        torch.tensor(1.0).size(0)
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        minicnn.tensor(1.0).size(0)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        minicnn.ones(2, 3).size(2)


# ---------------------------------------------------------------------- API sweep: small methods
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (0, 3)])
def test_numel_t_and_view_as_match_torch(shape, dtype):
    x = rand(*shape, dtype=dtype)
    m, t = minicnn.tensor(x), torch.tensor(x)
    assert m.numel() == minicnn.numel(m) == t.numel() == torch.numel(t)
    if len(shape) <= 2:
        assert_same(m.t(), t.t())
        assert_same(minicnn.t(m), torch.t(t))
    target = rand(*reversed(shape), dtype=dtype)
    assert_same(m.view_as(minicnn.tensor(target)), t.view_as(torch.tensor(target)))


def test_t_refuses_more_than_two_dims_like_torch():
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, 4).t()
    with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"):
        minicnn.ones(2, 3, 4).t()


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_torch_max_with_dim_is_a_named_values_indices_tuple(name, keepdim, dtype):
    x = rand(3, 5, dtype=dtype)
    got = getattr(minicnn, name)(minicnn.tensor(x), 1, keepdim=keepdim)
    want = getattr(torch, name)(torch.tensor(x), 1, keepdim=keepdim)
    values, indices = got
    assert_same(values, want.values)
    assert_same(indices, want.indices)
    assert got.values is values and got.indices is indices and got[0] is values
    assert type(got).__name__ == type(want).__name__ == name
    assert repr(got).startswith(f"minicnn.return_types.{name}(\nvalues=tensor(")
    assert getattr(minicnn.tensor(x), name)(dim=-1)._fields == ("values", "indices")


def test_data_shares_storage_outside_the_graph_like_torch(dtype):
    x = rand(4, dtype=dtype)
    for lib in (minicnn, torch):
        w = lib.tensor(x.copy(), requires_grad=True)
        y = (w * 2).sum()
        d = w.data
        assert not d.requires_grad and d.grad_fn is None and w.requires_grad
        d.mul_(0.5)  # no leaf check: .data is how old code updated weights
        assert_close(w.detach(), x * 0.5, dtype)
        y.backward()  # .data's in-place changes are invisible to autograd (its own version counter)
        w.data = lib.zeros(2, 2, dtype=w.dtype)  # and assigning .data swaps the storage, any shape
        assert tuple(w.shape) == (2, 2) and w.requires_grad


# ---------------------------------------------------------------------- in place, torch's rules
INPLACE_GRAPH_OPS = {
    "add_": lambda lib, y, z: y.add_(z),
    "add_-alpha": lambda lib, y, z: y.add_(z, alpha=-0.5),
    "sub_": lambda lib, y, z: y.sub_(z),
    "mul_": lambda lib, y, z: y.mul_(z),
    "div_": lambda lib, y, z: y.div_(z.abs() + 1),
    "clamp_": lambda lib, y, z: y.clamp_(min=z),
    "clamp_-numbers": lambda lib, y, z: y.clamp_(-0.5, 0.5),
    "copy_": lambda lib, y, z: y.copy_(z * 3),
    "fill_-tensor": lambda lib, y, z: y.fill_(z.sum()),
    "zero_": lambda lib, y, z: y.zero_(),
    "pow_": lambda lib, y, z: y.pow_(2),
    "neg_": lambda lib, y, z: y.neg_(),
    "abs_": lambda lib, y, z: y.abs_(),
    "exp_": lambda lib, y, z: y.exp_(),
    "log_": lambda lib, y, z: y.abs_().add_(1).log_(),
    "sqrt_": lambda lib, y, z: y.abs_().sqrt_(),
    "relu_": lambda lib, y, z: y.relu_(),
    "sigmoid_": lambda lib, y, z: y.sigmoid_(),
    "tanh_": lambda lib, y, z: y.tanh_(),
}
UNUSED_SOURCE = ("clamp_-numbers", "zero_", "pow_", "neg_", "abs_", "exp_", "log_", "sqrt_", "relu_", "sigmoid_", "tanh_")


@pytest.mark.parametrize("name", INPLACE_GRAPH_OPS)
def test_in_place_ops_on_graph_tensors_are_recorded_like_torch(name, dtype):
    # torch records an in-place op on a non-leaf (or one whose source requires grad) in the graph.
    op = INPLACE_GRAPH_OPS[name]

    def program(lib, F, x, z):
        y = x * 2
        result = op(lib, y, z)
        assert result is y
        return y * x  # x's gradient then depends on what the in-place op did to y

    z_used = name not in UNUSED_SOURCE
    mini, ref = run_both(program, rand(3, 4, dtype=dtype), rand(3, 4, dtype=dtype), requires_grad=[True, z_used])
    check(mini, ref, dtype, name)


def test_in_place_into_a_plain_tensor_from_a_graph_makes_it_part_of_the_graph(dtype):
    def program(lib, F, x):
        buffer = lib.zeros(2, 3, dtype=x.dtype)
        buffer.copy_(x.exp())
        assert buffer.requires_grad and not buffer.is_leaf
        return buffer

    check(*run_both(program, rand(3, dtype=dtype)), dtype, "copy_ into a buffer")


def test_version_counts_in_place_ops_like_torch():
    for lib in (minicnn, torch):
        x = lib.zeros(3)
        assert x._version == 0
        x.add_(1).mul_(2).sub_(1).div_(2).clamp_(0, 1).zero_().fill_(2).copy_(lib.ones(3))
        x[0] = 5.0
        assert x._version == 9, lib.__name__
        assert x.detach()._version == 9  # detach shares the counter


@pytest.mark.parametrize("op", [lambda t: t.sub_(1.0), lambda t: t.div_(2.0), lambda t: t.clamp_(0.0, 1.0),
                                lambda t: t.clip_(max=1.0), lambda t: t.normal_(), lambda t: t.uniform_()],
                         ids=["sub_", "div_", "clamp_", "clip_", "normal_", "uniform_"])
def test_more_in_place_ops_refuse_leaves_under_grad_mode_only(op):
    for lib in (torch, minicnn):
        w = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            op(w)
        with lib.no_grad():
            op(w)
        assert w.is_leaf and w.requires_grad and w.grad_fn is None


@pytest.mark.parametrize("op,source", [("add_", 0.5), ("sub_", 1.5), ("mul_", 1.5), ("div_", 2), ("clamp_", 0.5),
                                       ("pow_", 0.5), ("exp_", None), ("sqrt_", None)])
def test_in_place_ops_refuse_a_result_of_a_higher_kind_like_torch(op, source):
    def run(lib):
        t = lib.arange(4)
        if op == "clamp_":
            return t.clamp_(min=source)
        return getattr(t, op)() if source is None else getattr(t, op)(source)

    with pytest.raises(RuntimeError):
        run(torch)
    with pytest.raises(RuntimeError, match=f"{op}: result type float32 can't be cast to the desired output type int64"):
        run(minicnn)


def test_in_place_ops_keep_the_dtype_and_take_lower_kinds_like_torch():
    for op in (lambda lib, t: t.add_(lib.arange(3)), lambda lib, t: t.mul_(lib.tensor([2.0], dtype=lib.float64)),
               lambda lib, t: t.copy_(lib.tensor([1, 2, 3])), lambda lib, t: t.fill_(True)):
        m, t = minicnn.ones(3), torch.ones(3)
        op(minicnn, m)
        op(torch, t)
        assert_same(m, t)


# ---------------------------------------------------------------------- promotion beyond + - * / **
PROMOTING_OPS = {
    "floordiv": lambda lib, a, b: a // b,
    "div-trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where": lambda lib, a, b: lib.where(lib.ones(2, 3, dtype=lib.bool), a, b),
    "clamp-min": lambda lib, a, b: a.clamp(min=b),
    "clamp-max": lambda lib, a, b: a.clamp(max=b),
}
TENSOR_PAIRS = [("f32", "f64"), ("i64", "f32"), ("f32", "i64"), ("f32", "f64-0d"), ("i64", "f64-0d"),
                ("f32", "py-float"), ("i64", "py-float"), ("i64", "py-int"), ("f32", "py-int"), ("f64-0d", "f32-0d")]


@pytest.mark.parametrize("op", PROMOTING_OPS)
@pytest.mark.parametrize("left,right", TENSOR_PAIRS, ids=lambda p: str(p))
def test_more_ops_promote_like_torch(left, right, op):
    def run(lib):
        b = PROMOTION_OPERANDS[right](lib)
        if op in ("maximum", "minimum") and not isinstance(b, lib.Tensor):
            b = lib.tensor(b)  # torch.maximum takes tensors only
        return PROMOTING_OPS[op](lib, PROMOTION_OPERANDS[left](lib), b)

    assert_same(run(minicnn), run(torch), f"{left} {op} {right}")


LOSSES = {
    "mse_loss": lambda lib, F, a, b: F.mse_loss(a, b),
    "l1_loss": lambda lib, F, a, b: F.l1_loss(a, b, reduction="sum"),
    "MSELoss": lambda lib, F, a, b: lib.nn.MSELoss()(a, b),
    "L1Loss-none": lambda lib, F, a, b: lib.nn.L1Loss(reduction="none")(a, b),
}


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("left,right", [("f32", "i64"), ("i64", "f32"), ("f32", "f64"), ("f64", "f32"),
                                        ("f32", "f64-0d"), ("f64", "f32-0d")], ids=lambda p: str(p))
def test_losses_promote_like_torch(loss, left, right):
    # torch broadcasts input and target first, so a 0-d target promotes as a full one would.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about a broadcast target
        got = LOSSES[loss](minicnn, minicnn.nn.functional, PROMOTION_OPERANDS[left](minicnn), PROMOTION_OPERANDS[right](minicnn))
        want = LOSSES[loss](torch, torch.nn.functional, PROMOTION_OPERANDS[left](torch), PROMOTION_OPERANDS[right](torch))
    assert_same(got, want, f"{loss}({left}, {right})")


def test_bce_refuses_mismatched_dtypes_like_torch():
    x, t = np.full((2, 3), 0.25, np.float32), np.ones((2, 3), np.int64)
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(t))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: Found dtype int64 but expected float32"):
        minicnn.nn.functional.binary_cross_entropy(minicnn.tensor(x), minicnn.tensor(t))
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t))
    with pytest.raises(RuntimeError, match="binary_cross_entropy_with_logits: expected a floating-point target"):
        minicnn.nn.functional.binary_cross_entropy_with_logits(minicnn.tensor(x), minicnn.tensor(t))


@pytest.mark.parametrize("source,target", [("float64", "float32"), ("float32", "int64"), ("int64", "float16"),
                                           ("int64", "bool"), ("bool", "uint8"), ("int32", "uint8")])
def test_can_cast_matches_torch(source, target):
    assert minicnn.can_cast(getattr(minicnn, source), getattr(minicnn, target)) == \
        torch.can_cast(getattr(torch, source), getattr(torch, target))


ACTIVATIONS = ["tanh", "sigmoid", "silu", "gelu", "elu", "leaky_relu", "relu", "relu6", "hardtanh", "softmax",
               "log_softmax"]


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype_name", ["int64", "bool", "float64"])
def test_activations_of_integers_follow_torch(name, dtype_name):
    # tanh/sigmoid give the default float, relu/relu6/hardtanh keep integers, the rest refuse.
    def run(lib):
        x = lib.tensor([[1, 0, 3], [2, 5, 0]]).to(getattr(lib, dtype_name))
        args = (1,) if name in ("softmax", "log_softmax") else ()
        return getattr(lib.nn.functional, name)(x, *args)

    try:
        want = run(torch)
    except (NotImplementedError, RuntimeError) as error:
        with pytest.raises(type(error), match="not implemented for|Boolean inputs not supported for"):
            run(minicnn)
        return
    assert_same(run(minicnn), want, name)


def test_softmax_of_integers_with_dtype_works_like_torch():
    for method in ("softmax", "log_softmax"):
        got = getattr(minicnn.tensor([1, 2, 3]), method)(0, dtype=minicnn.float64)
        want = getattr(torch.tensor([1, 2, 3]), method)(0, dtype=torch.float64)
        assert_same(got, want, method)
    assert_same(minicnn.tensor([1, 2]).tanh(), torch.tensor([1, 2]).tanh())
    assert_same(minicnn.tensor([1, 2]).sigmoid(), torch.tensor([1, 2]).sigmoid())
