"""Autograd against torch: broadcasting gradients, reductions, shape ops, matmul, the engine's
rules (accumulation, retain_graph, hooks, grad mode), deep graphs and gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn.autograd import Function, GradcheckError, gradcheck
from parity import assert_close, check, rand, run_both

def run(op, *arrays, **kwargs):
    """``run_both`` for an ``op(lib, *tensors)`` that needs no ``F``."""
    return run_both(lambda lib, F, *tensors: op(lib, *tensors), *arrays, **kwargs)


BROADCAST_PAIRS = [((), (3,)), ((4,), ()), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((5, 1, 3), (1, 2, 1)),
                   ((2, 3), (2, 3)), ((1,), (2, 1, 1))]

BINARY_OPS = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: a.abs() ** b,  # a positive base keeps the exponent's gradient real
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where": lambda lib, a, b: lib.where(a > b, a, b * 2),
}


@pytest.mark.parametrize("op", BINARY_OPS)
@pytest.mark.parametrize("shape_a,shape_b", BROADCAST_PAIRS, ids=str)
def test_binary_op_broadcasting_gradients(op, shape_a, shape_b, dtype):
    a, b = rand(*shape_a, dtype=dtype), rand(*shape_b, dtype=dtype)
    if op == "div":
        b = b + np.sign(b).astype(dtype)  # keep |b| >= 1, away from the pole
    mini, ref = run(BINARY_OPS[op], a, b)
    check(mini, ref, dtype, f"{op} {shape_a} {shape_b}")


@pytest.mark.parametrize("op", [
    lambda lib, x: x + 2.5, lambda lib, x: 2.5 + x, lambda lib, x: x - 1, lambda lib, x: 1 - x,
    lambda lib, x: x * -3, lambda lib, x: 0.5 * x, lambda lib, x: x / 4, lambda lib, x: 2 / (x.abs() + 1),
    lambda lib, x: x ** 2, lambda lib, x: x.abs() ** 0.5, lambda lib, x: 2 ** x, lambda lib, x: x ** 0,
    lambda lib, x: -x, lambda lib, x: x.exp(), lambda lib, x: x.abs().log(), lambda lib, x: x.abs().sqrt(),
    lambda lib, x: x.abs(), lambda lib, x: x.clamp(-0.5, 0.5), lambda lib, x: x.clamp(min=0),
    lambda lib, x: x.clamp(max=0.3), lambda lib, x: lib.where(x > 0, x, 0.0),
], ids=["x+n", "n+x", "x-n", "n-x", "x*n", "n*x", "x/n", "n/x", "x**2", "x**0.5", "2**x", "x**0",
        "neg", "exp", "log", "sqrt", "abs", "clamp", "clamp-min", "clamp-max", "where-number"])
def test_unary_and_number_operand_gradients(op, dtype):
    mini, ref = run(op, rand(3, 4, dtype=dtype))
    check(mini, ref, dtype)


def test_pow_gradients_at_zero_follow_torch():
    # d/da a^b is defined as 0 where b == 0 and d/db as 0 where a == 0, b >= 0 (not nan).
    a = np.array([0.0, 0.0, 2.0, 0.0])
    b = np.array([0.0, 2.0, 0.0, 3.0])
    mini, ref = run_both(lambda lib, F, x, y: x ** y, a, b)
    check(mini, ref, np.float64, "0 ** b")
    assert np.isfinite(mini.inputs[0].grad.numpy()).all() and np.isfinite(mini.inputs[1].grad.numpy()).all()


def test_maximum_minimum_ties_split_the_gradient_like_torch(dtype):
    a = rand(6, dtype=dtype)
    b = a.copy()
    b[::2] += 1.0  # every other element tied
    for op in (lambda lib, F, x, y: lib.maximum(x, y), lambda lib, F, x, y: lib.minimum(x, y)):
        mini, ref = run_both(op, a, b)
        check(mini, ref, dtype, "ties")


def test_float32_and_float64_promote_to_float64_and_each_grad_keeps_its_dtype():
    a, b = rand(2, 3, dtype=np.float32), rand(3, dtype=np.float64)
    mini, ref = run_both(lambda lib, F, x, y: x * y + x, a, b)
    assert mini.out.dtype == minicnn.float64 and ref.out.dtype == torch.float64
    assert mini.inputs[0].grad.dtype == minicnn.float32 and mini.inputs[1].grad.dtype == minicnn.float64
    check(mini, ref, np.float32, "f32 * f64")


def test_int_tensor_with_float_tensor_takes_the_float_dtype():
    mini, ref = run_both(lambda lib, F, x: x * lib.arange(3) + lib.arange(3) / 2, rand(2, 3, dtype=np.float32))
    assert mini.out.dtype == minicnn.float32
    check(mini, ref, np.float32)


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False), ((0, 2), False),
                                         ((2, 0), True), ((-1, -2), False), ((0, 1, 2), True)], ids=repr)
def test_sum_mean_gradients(name, dim, keepdim, dtype):
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    mini, ref = run_both(lambda lib, F, x: getattr(x, name)(**kwargs), rand(2, 3, 4, dtype=dtype))
    check(mini, ref, dtype, f"{name}({kwargs})")


@pytest.mark.parametrize("name", ["max", "min"])
def test_full_max_min_ties_share_the_gradient_equally(name, dtype):
    x = rand(3, 4, dtype=dtype)
    extreme = x.max() if name == "max" else x.min()
    x[0, 0] = x[2, 1] = x[1, 3] = extreme  # a three-way tie
    mini, ref = run_both(lambda lib, F, t: getattr(t, name)() * 3, x)
    check(mini, ref, dtype, f"{name}() with ties")


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_along_a_dim_route_the_gradient_to_the_reported_index(name, dim, keepdim, dtype):
    x = rand(3, 4, 5, dtype=dtype)
    x[1, 2, :] = 0.25  # a whole row tied: torch sends all of the gradient to one index
    x[:, 1, 3] = x[:, 1, 0]
    mini, ref = run_both(lambda lib, F, t: getattr(t, name)(dim, keepdim=keepdim).values, x)
    check(mini, ref, dtype, f"{name}(dim={dim})")
    assert not getattr(minicnn.tensor(x, requires_grad=True), name)(dim).indices.requires_grad


def test_var_std_gradients(dtype):
    for op in (lambda lib, F, x: x.var(), lambda lib, F, x: x.var(1, keepdim=True),
               lambda lib, F, x: x.std(0), lambda lib, F, x: x.var(1, unbiased=False)):
        mini, ref = run_both(op, rand(4, 5, dtype=dtype))
        check(mini, ref, dtype, "var/std", scale_rtol=10)


# ---------------------------------------------------------------------- shape ops
@pytest.mark.parametrize("op", [
    lambda lib, t: t.view(6, 4), lambda lib, t: t.reshape(4, -1), lambda lib, t: t.flatten(1),
    lambda lib, t: lib.flatten(t, 0, 1), lambda lib, t: t.permute(2, 0, 1), lambda lib, t: t.transpose(0, 2),
    lambda lib, t: t.transpose(-1, -2), lambda lib, t: t.unsqueeze(1), lambda lib, t: t[:, :1].squeeze(1),
    lambda lib, t: t[:1].squeeze(), lambda lib, t: t[:, :1].expand(2, 3, 4),
    lambda lib, t: t[:, :1, :1].expand(3, 2, 5, 4), lambda lib, t: t[0].T, lambda lib, t: t.clone() * t,
    lambda lib, t: lib.cat([t, t * 2, t[:, :1]], 1), lambda lib, t: lib.stack([t, t.exp()], -1),
    lambda lib, t: lib.cat(t.chunk(2, 2)[::-1], 2), lambda lib, t: lib.cat(t.split([1, 2], 1)[::-1], 1),
    lambda lib, t: t.to(lib.float64) * 2,
], ids=["view", "reshape", "flatten", "lib.flatten", "permute", "transpose", "transpose-neg", "unsqueeze",
        "squeeze-dim", "squeeze", "expand", "expand-lead", "T", "clone", "cat", "stack", "chunk", "split",
        "to-float64"])
def test_shape_op_gradients(op, dtype):
    mini, ref = run(op, rand(2, 3, 4, dtype=dtype))
    check(mini, ref, dtype)


def test_cat_and_stack_of_several_leaves(dtype):
    a, b, c = rand(2, 3, dtype=dtype), rand(1, 3, dtype=dtype), rand(2, 3, dtype=dtype)
    mini, ref = run_both(lambda lib, F, x, y, z: lib.cat([x, y, z]) * lib.stack([x[0], y[0], z[1]]).sum(0), a, b, c)
    check(mini, ref, dtype, "cat/stack")


# ---------------------------------------------------------------------- matmul
MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
                 ((1, 2, 3), (5, 3, 4))]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES, ids=str)
def test_matmul_gradients(shape_a, shape_b, dtype):
    mini, ref = run_both(lambda lib, F, a, b: a @ b, rand(*shape_a, dtype=dtype), rand(*shape_b, dtype=dtype))
    check(mini, ref, dtype, f"{shape_a} @ {shape_b}")
    mini, ref = run_both(lambda lib, F, a, b: lib.matmul(a, b), rand(*shape_a, dtype=dtype),
                         rand(*shape_b, dtype=dtype), requires_grad=[False, True])
    check(mini, ref, dtype, "only b requires grad")


@pytest.mark.parametrize("shape_a,shape_b,message,torch_message", [
    ((2, 3), (4, 2), "cannot be multiplied", r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)"),
    ((), (3,), "both arguments to matmul need to be at least 1D", "both arguments to matmul need to be at least 1D"),
    ((2, 2, 3), (3, 3, 4), "do not broadcast", r"The size of tensor a \(2\) must match the size of tensor b \(3\)"),
])
def test_matmul_shape_errors(shape_a, shape_b, message, torch_message):
    with pytest.raises(RuntimeError, match=torch_message):
        torch.zeros(shape_a) @ torch.zeros(shape_b)
    with pytest.raises(RuntimeError, match=message):
        minicnn.zeros(*shape_a) @ minicnn.zeros(*shape_b)


def test_matmul_refuses_mixed_dtypes_like_torch():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        minicnn.ones(2, 2) @ minicnn.ones(2, 2, dtype=minicnn.float64)


# ---------------------------------------------------------------------- the engine's rules
def test_gradients_accumulate_across_backward_calls(dtype):
    x, w = rand(3, dtype=dtype), rand(3, dtype=dtype)
    results = []
    for lib in (minicnn, torch):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        (tx * tw).sum().backward()
        (tx.exp() * tw).sum().backward()
        results.append((tx.grad, tw.grad))
    for got, want in zip(*results):
        assert_close(got, want, dtype)
    # and by hand: d/dx = w + w e^x, d/dw = x + e^x
    assert_close(results[0][0].numpy(), w + w * np.exp(x), dtype)
    assert_close(results[0][1].numpy(), x + np.exp(x), dtype)


def test_diamond_graph_sums_both_paths(dtype):
    def diamond(lib, F, x):
        y = x * x  # x reaches z through y twice and directly once
        return (y.exp() + y * x + y.sum()) * x

    mini, ref = run_both(diamond, rand(4, dtype=dtype) * 0.5)
    check(mini, ref, dtype, "diamond")


def test_leaves_get_their_own_gradient_arrays():
    a, b = minicnn.ones(3, requires_grad=True), minicnn.ones(3, requires_grad=True)
    upstream = minicnn.tensor([1.0, 2.0, 3.0])
    (a + b).backward(upstream)  # both leaves receive the upstream gradient itself
    a.grad.mul_(10.0)  # what an optimizer's in-place update does
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(upstream.numpy(), [1.0, 2.0, 3.0])


def test_backward_without_gradient_needs_a_single_element():
    for lib in (minicnn, torch):
        y = lib.ones(2, 3, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            y.backward()
    x = minicnn.tensor([[3.0]], requires_grad=True)
    (x * 2).backward()  # shape (1, 1) is a single element: allowed, as in torch
    assert x.grad.tolist() == [[2.0]]
    leaf = minicnn.tensor(2.0, requires_grad=True)
    leaf.backward()  # a leaf's own backward seeds its gradient with one
    assert leaf.grad.item() == 1.0


def test_backward_errors():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        minicnn.ones(2).sum().backward()
    y = minicnn.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape: grad_output\\[0\\] has a shape of \\(3,\\)"):
        y.backward(minicnn.ones(3))
    with pytest.raises(NotImplementedError, match="create_graph"):
        y.sum().backward(create_graph=True)


def test_backward_with_an_explicit_gradient(dtype):
    mini, ref = run_both(lambda lib, F, x: (x * x).exp(), rand(2, 3, dtype=dtype) * 0.5)  # seeds rand grads
    check(mini, ref, dtype, "explicit gradient")
    x = minicnn.tensor(rand(3), requires_grad=True)
    (x * 2).backward(minicnn.tensor([1.0, 0.0, -1.0], dtype=minicnn.float32))  # cast to x's dtype
    assert x.grad.dtype == minicnn.float64 and x.grad.tolist() == [2.0, 0.0, -2.0]


def test_retain_graph():
    for lib in (minicnn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()
    results = []
    for lib in (minicnn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        results.append(x.grad.tolist())
    assert results[0] == results[1] == [4.0, 8.0]


def test_no_grad_enable_grad_set_grad_enabled():
    x = minicnn.ones(2, requires_grad=True)
    assert minicnn.is_grad_enabled()
    with minicnn.no_grad():
        assert not minicnn.is_grad_enabled()
        y = x * 2
        with minicnn.enable_grad():
            z = x * 2
        assert not minicnn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad
    with minicnn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert minicnn.is_grad_enabled()
    minicnn.set_grad_enabled(False)  # also a plain function call
    assert not minicnn.is_grad_enabled()
    minicnn.set_grad_enabled(True)
    with pytest.raises(ValueError, match="the mode is restored on the way out"):
        with minicnn.no_grad():
            raise ValueError("the mode is restored on the way out")
    assert minicnn.is_grad_enabled()


def test_grad_mode_decorators():
    x = minicnn.ones(2, requires_grad=True)

    @minicnn.no_grad()
    def with_parens():
        return x * 2

    @minicnn.no_grad
    def bare():
        return x * 2

    @minicnn.set_grad_enabled(False)
    def off():
        return x * 2

    assert minicnn.is_grad_enabled(), "decorating must not change the mode"
    assert not with_parens().requires_grad and not bare().requires_grad and not off().requires_grad
    assert minicnn.is_grad_enabled() and (x * 2).requires_grad
    with minicnn.no_grad():
        assert minicnn.enable_grad()(lambda: (x * 2).requires_grad)()


def test_detach_and_requires_grad_():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.array is y.array
    (d * x).sum().backward()
    assert x.grad.tolist() == [3.0, 6.0]  # no gradient flowed through the detached branch
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        minicnn.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    w = minicnn.tensor([1.0])
    assert w.requires_grad_() is w and w.requires_grad and w.is_leaf
    assert y.data.grad_fn is None and y.data.array is y.array


@pytest.mark.parametrize("length", [1000, 10000])
def test_long_chains_do_not_hit_the_recursion_limit(length):
    x = minicnn.tensor(0.5, dtype=minicnn.float64, requires_grad=True)
    y = x
    for i in range(length):
        y = y * 1.0001 if i % 2 else y + 0.001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** (length // 2), rel=1e-12)


def test_hooks_on_leaves_and_non_leaves_match_torch(dtype):
    x = rand(3, dtype=dtype)
    seen = {}
    results = []
    for lib in (minicnn, torch):
        leaf = lib.tensor(x, requires_grad=True)
        leaf.register_hook(lambda g: g * 2)  # doubles what reaches leaf.grad
        mid = leaf.exp()
        mid.register_hook(lambda g, lib=lib: seen.__setitem__(lib.__name__, g.tolist()))
        mid.register_hook(lambda g: g + 1)  # changes what flows on to leaf
        removed = mid.register_hook(lambda g: g * 100)
        removed.remove()
        removed.remove()  # twice is harmless
        (mid * mid).sum().backward()
        results.append(leaf.grad)
    assert_close(results[0], results[1], dtype, "hooked gradient")
    assert_close(np.array(seen["minicnn"]), np.array(seen["torch"]), dtype, "gradient a hook saw")


def test_retain_grad_matches_torch(dtype):
    x = rand(3, dtype=dtype)
    results = []
    for lib in (minicnn, torch):
        leaf = lib.tensor(x, requires_grad=True)
        mid = leaf * 2
        mid.retain_grad()
        mid.retain_grad()  # idempotent
        mid.register_hook(lambda g: g * 3)  # registered later, still seen by .grad
        (mid.exp()).sum().backward(retain_graph=True)
        mid.sum().backward()  # accumulates
        results.append((mid.grad, leaf.grad))
        assert mid.retains_grad
    for got, want in zip(*results):
        assert_close(got, want, dtype, "retain_grad")
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        minicnn.ones(1).register_hook(lambda g: g)


def test_integer_outputs_are_not_differentiated():
    x = minicnn.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    values, indices = x.max(1)
    assert values.requires_grad and not indices.requires_grad and indices.grad_fn is None
    assert not x.argmax().requires_grad and not (x > 1).requires_grad


class SquareWithWrongBackward(Function):
    """x ** 2 whose backward forgets the factor 2: gradcheck must catch it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


class ScaledProduct(Function):
    """a * b * scale with ``scale`` a keyword: a correct two-input Function."""

    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.scale, g * a * ctx.scale


class ForgetsAGradient(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g


def leaf64(*shape):
    return minicnn.tensor(rand(*shape), requires_grad=True)


@pytest.mark.parametrize("fn,shapes", [
    (lambda a, b: a * b + a / (b.abs() + 1), [(3, 1), (1, 4)]),
    (lambda a, b: a.abs() ** b - a.exp(), [(2, 3), (3,)]),
    (lambda a, b: (a @ b).abs().sqrt(), [(2, 3), (3, 2)]),
    (lambda a, b: minicnn.maximum(a, b) * minicnn.where(a > 0, a, b), [(4,), (4,)]),
    (lambda a: (a.max(1).values, a.min(), a.mean((0, 1)), a.abs().log()), [(3, 4)]),
    (lambda a: minicnn.cat([a, a.permute(1, 0)[:2]]).clamp(-0.5, 0.5), [(3, 3)]),
    (lambda a: a[[0, 0, 1], ::2].expand(2, 3, 2).flatten(), [(3, 4)]),
    (lambda a, b: ScaledProduct.apply(a, b, scale=3.0), [(2, 3), (2, 3)]),
], ids=["arith", "pow-exp", "matmul", "max-where", "reductions", "cat-clamp", "index-expand", "custom"])
def test_gradcheck_passes_on_correct_functions(fn, shapes):
    assert gradcheck(fn, [leaf64(*s) for s in shapes])


def test_gradcheck_fails_on_a_wrong_backward():
    with pytest.raises(GradcheckError, match="gradient of input 0"):
        gradcheck(SquareWithWrongBackward.apply, [leaf64(3)])
    assert gradcheck(SquareWithWrongBackward.apply, [leaf64(3)], raise_exception=False) is False


def test_gradcheck_needs_float64_and_something_to_check():
    with pytest.raises(ValueError, match="use float64"):
        gradcheck(lambda a: a * 2, [minicnn.ones(2, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda a: a * 2, [minicnn.ones(2, dtype=minicnn.float64)])


def test_a_function_returning_too_few_gradients_is_reported():
    with pytest.raises(RuntimeError, match="ForgetsAGradientBackward returned an incorrect number of gradients \\(expected 2, got 1\\)"):
        ForgetsAGradient.apply(leaf64(2), leaf64(2)).sum().backward()


class _FakeCudaArray:
    """Just enough of a CuPy array for the device checks, which must fire before any arithmetic."""

    __cuda_array_interface__ = {}
    shape, ndim, dtype = (2,), 1, np.dtype(np.float32)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: b * a, lambda a, b: a @ b, lambda a, b: minicnn.cat([a, b]),
    lambda a, b: minicnn.stack([b, a]), lambda a, b: minicnn.maximum(a, b), lambda a, b: a == b,
    lambda a, b: minicnn.where(a > 0, a, b),
], ids=["add", "rmul", "matmul", "cat", "stack", "maximum", "eq", "where"])
def test_mixed_devices_raise(op):
    cpu, cuda = minicnn.ones(2), minicnn.Tensor(_FakeCudaArray())
    assert cuda.device == minicnn.device("cuda")
    with pytest.raises(RuntimeError, match="expected all tensors to be on the same device"):
        op(cpu, cuda)


# ---------------------------------------------------------------------- walking the graph
def _walk(node) -> list:
    """(name, output index) of every node reached through next_functions, depth first."""
    seen = []
    for child, index in node.next_functions:
        if child is None:
            seen.append((None, index))
        else:
            seen.append((child.name(), index))
            seen.extend(_walk(child))
    return seen


def test_next_functions_walk_the_graph_like_torch():
    # The beginner tutorial's walk: loss.grad_fn, then .next_functions[0][0], and so on.
    shapes = {"x": (4, 3), "w": (2, 3), "b": (2,)}
    graphs = {}
    for lib in (minicnn, torch):
        x = lib.tensor(rand(*shapes["x"]))
        w, b = (lib.tensor(rand(*shapes[k]), requires_grad=True) for k in ("w", "b"))
        loss = ((x @ w.t() + b).relu() - 1).sum()
        graphs[lib.__name__] = (loss, w, b)
    mini, ref = _walk(graphs["minicnn"][0].grad_fn), _walk(graphs["torch"][0].grad_fn)
    # The shape of the walk (where leaves and non-differentiable inputs sit) is torch's; the
    # names are minicnn's own Functions (torch's are its fused kernels, e.g. AddmmBackward0).
    assert [index for _, index in mini] == [index for _, index in ref]
    assert [name is None for name, _ in mini] == [name is None for name, _ in ref]
    leaves = [name for name, _ in mini if name == "AccumulateGrad"]
    assert len(leaves) == sum(name == "torch::autograd::AccumulateGrad" for name, _ in ref) == 2


def test_accumulate_grad_nodes_hold_their_leaf():
    w = minicnn.ones(3, requires_grad=True)
    y = w * minicnn.tensor([1.0, 2.0, 3.0])
    (node, index), (constant, _) = y.grad_fn.next_functions
    assert node.name() == "AccumulateGrad" and node.variable is w and index == 0
    assert node.next_functions == () and constant is None
    assert y.grad_fn.name() == "MulBackward" and "MulBackward" in repr(y.grad_fn)


def test_multi_output_nodes_report_which_output_feeds_the_next_one():
    x = minicnn.tensor(rand(3, 4), requires_grad=True)
    values, indices = x.max(1)
    node, index = (values * 2).grad_fn.next_functions[0]
    assert node is values.grad_fn and index == 0


# ---------------------------------------------------------------------- version counters
def _saved_input_changed(lib):
    x, w = lib.tensor(rand(3), requires_grad=True), lib.tensor(rand(3))
    y = x * w  # saves w for x's gradient
    with lib.no_grad():
        w.mul_(2)
    y.sum().backward()


def _saved_output_changed(lib):
    x = lib.tensor(rand(3), requires_grad=True)
    y = x.exp()  # saves its output
    y.add_(1)
    y.sum().backward()


def _changed_through_detach(lib):
    x = lib.tensor(rand(3), requires_grad=True)
    y = x * x
    x.detach().zero_()  # detach shares the version counter
    y.sum().backward()


def _changed_by_item_assignment(lib):
    x, w = lib.tensor(rand(3), requires_grad=True), lib.tensor(rand(3))
    y = (x * w).sum()
    w[0] = 1.0
    y.backward()


@pytest.mark.parametrize("program", [_saved_input_changed, _saved_output_changed, _changed_through_detach,
                                     _changed_by_item_assignment],
                         ids=["saved-input", "saved-output", "through-detach", "item-assignment"])
def test_backward_refuses_values_changed_in_place_after_forward_saved_them(program):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        program(torch)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient computation has been "
                                           r"modified by an inplace operation: \[minicnn\.float64 \[3\]\], saved by "
                                           r"(MulBackward|ExpBackward), is at version 1; expected version 0"):
        program(minicnn)


def test_changes_through_data_and_to_unsaved_tensors_go_unnoticed_like_torch():
    for lib in (minicnn, torch):
        x, w = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0, 4.0])
        y = (x * w + w).sum()
        w.data.mul_(10)  # .data has its own counter: autograd cannot see this (torch's documented trap)
        y.backward()
        assert x.grad.tolist() == [30.0, 40.0], lib.__name__
        z = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([5.0, 6.0])
        s = (z + b).sum()  # add saves nothing
        b.zero_()
        s.backward()
        assert z.grad.tolist() == [1.0, 1.0]


def test_optimizer_style_updates_under_no_grad_then_a_fresh_forward_work():
    w = minicnn.tensor(rand(3), requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with minicnn.no_grad():
            w.sub_(0.1 * w.grad)
        w.grad.zero_()
    assert w._version == 3
