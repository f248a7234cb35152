"""minicnn.nn against torch.nn: layers (repr, defaults, parameters, forward/backward), Module
mechanics (registration, state dicts, hooks, modes, dtype), containers, init and utils.

Every layer is built from the same constructor call in both libraries; minicnn's copy then
receives torch's weights through ``load_state_dict`` so outputs and gradients can be
compared element by element.
"""
from __future__ import annotations

import copy
import math
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import minicnn
import minicnn.nn as nn
from parity import RNG, assert_close, check, rand, run_both

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)


# ---------------------------------------------------------------------------- helpers
def torch_dtype(dtype):
    return getattr(torch, np.dtype(dtype).name)


def numpy_state(module: tnn.Module) -> dict:
    """torch's state dict as NumPy arrays: the documented way weights move to minicnn."""
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def twins(build, dtype=np.float32):
    """``build(lib)`` with lib = torch, then minicnn; minicnn's copy gets torch's state."""
    ref = build(torch).to(torch_dtype(dtype))
    mini = build(minicnn).to(dtype)
    mini.load_state_dict(numpy_state(ref))
    return mini, ref


def assert_same_tensors(mini_named, torch_named, dtype, what):
    """Two (name, tensor) streams: same names in the same order, same values."""
    mini_named, torch_named = list(mini_named), list(torch_named)
    assert [n for n, _ in mini_named] == [n for n, _ in torch_named], what
    for (name, m), (_, t) in zip(mini_named, torch_named):
        if t.dtype in (torch.int64, torch.int32):
            assert m.dtype == np.int64 and m.item() == t.item(), f"{what} {name}"
        else:
            assert_close(m, t, dtype, f"{what} {name}")


def assert_same_grads(mini, ref, dtype):
    for (name, m), (_, t) in zip(mini.named_parameters(), ref.named_parameters()):
        assert (m.grad is None) == (t.grad is None), f"grad presence of {name}"
        if t.grad is not None:
            assert_close(m.grad, t.grad, dtype, f"grad of {name}")


# ---------------------------------------------------------------------------- layer catalogue
class Case:
    """One constructor call, ``nn.<name>(*args, **kwargs)``, and an input shape to run it on."""

    def __init__(self, name, args=(), kwargs=None, shape=(2, 3, 5, 5)):
        self.name, self.args, self.kwargs, self.shape = name, args, kwargs or {}, shape

    def build(self, lib_nn):
        return getattr(lib_nn, self.name)(*self.args, **self.kwargs)

    def __repr__(self):
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


LAYERS = [
    Case("Conv2d", (3, 8, 3), shape=(2, 3, 7, 7)),
    Case("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2,
                                        bias=False), shape=(2, 4, 9, 8)),
    Case("Conv2d", (3, 5, 4), dict(padding="same"), shape=(1, 3, 6, 7)),
    Case("Conv2d", (3, 5, 3), dict(padding="valid", stride=2), shape=(3, 8, 7)),  # unbatched
    Case("Conv2d", (4, 4, 3), dict(groups=4, padding=1), shape=(2, 4, 5, 5)),  # depthwise
    Case("MaxPool2d", (2,), shape=(2, 3, 6, 6)),
    Case("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=1, ceil_mode=True), shape=(2, 3, 8, 7)),
    Case("AvgPool2d", (2,), shape=(2, 3, 6, 7)),
    Case("AvgPool2d", ((3, 2),), dict(stride=(2, 1), padding=1, ceil_mode=True,
                                      count_include_pad=False), shape=(2, 3, 7, 6)),
    Case("AvgPool2d", (2,), dict(divisor_override=3), shape=(1, 2, 4, 4)),
    Case("AdaptiveAvgPool2d", (1,), shape=(2, 3, 5, 5)),
    Case("AdaptiveAvgPool2d", ((2, 3),), shape=(2, 3, 7, 8)),
    Case("AdaptiveMaxPool2d", (2,), shape=(2, 3, 5, 7)),
    Case("BatchNorm1d", (5,), shape=(4, 5)),
    Case("BatchNorm1d", (5,), dict(momentum=None), shape=(4, 5, 3)),
    Case("BatchNorm2d", (3,), shape=(2, 3, 4, 5)),
    Case("BatchNorm2d", (3,), dict(eps=1e-3, momentum=0.3, affine=False), shape=(3, 3, 2, 2)),
    Case("BatchNorm2d", (3,), dict(track_running_stats=False), shape=(2, 3, 4, 4)),
    Case("BatchNorm2d", (3,), dict(momentum=None, bias=False), shape=(2, 3, 3, 3)),
    Case("LayerNorm", (5,), shape=(2, 3, 5)),
    Case("LayerNorm", ([4, 5],), dict(eps=1e-3, elementwise_affine=False), shape=(2, 3, 4, 5)),
    Case("LayerNorm", ((3, 4),), dict(bias=False), shape=(2, 3, 4)),
    Case("GroupNorm", (2, 4), shape=(2, 4, 3, 3)),
    Case("GroupNorm", (1, 4), dict(affine=False, eps=1e-3), shape=(2, 4, 5)),
    Case("ReLU"), Case("ReLU6", shape=(2, 3, 5)), Case("LeakyReLU"), Case("LeakyReLU", (0.2,)),
    Case("ELU"), Case("ELU", (0.5,)), Case("SiLU"), Case("GELU"), Case("GELU", (), dict(approximate="tanh")),
    Case("Sigmoid"), Case("Tanh"), Case("Hardtanh"), Case("Hardtanh", (-0.5, 1.5)),
    Case("Softmax", (), dict(dim=1)), Case("LogSoftmax", (), dict(dim=-1)),
    Case("Dropout"), Case("Dropout", (0.2,)), Case("Dropout2d", (0.3,)),
    Case("Linear", (5, 3), shape=(2, 4, 5)), Case("Linear", (5, 3), dict(bias=False), shape=(5,)),
    Case("Flatten", shape=(2, 3, 4, 5)), Case("Flatten", (0, 2), shape=(2, 3, 4, 5)),
    Case("Unflatten", (1, (2, 3)), shape=(2, 6, 4)), Case("Unflatten", (-1, (2, -1)), shape=(2, 6)),
    Case("Identity", (3,), dict(unused=1), shape=(2, 3)),
]

# Constructions that are only compared statically (repr, attributes): in-place variants and
# losses (whose forward is checked in the loss tests below).
STATIC_ONLY = [
    Case("ReLU", (True,)), Case("LeakyReLU", (0.1, True)), Case("ELU", (1.0, True)),
    Case("SiLU", (), dict(inplace=True)), Case("ReLU6", (True,)), Case("Hardtanh", (-2.0, 3.0, True)),
    Case("Softmax"), Case("Dropout", (0.5, True)), Case("MaxPool2d", (2, 1, 0, 1, True)),
    Case("CrossEntropyLoss"), Case("CrossEntropyLoss", (), dict(ignore_index=3, label_smoothing=0.1)),
    Case("NLLLoss", (), dict(reduction="sum")), Case("MSELoss"), Case("MSELoss", (), dict(reduction="none")),
    Case("L1Loss"), Case("BCELoss"), Case("BCEWithLogitsLoss"),
    Case("CrossEntropyLoss", (), dict(size_average=False)), Case("MSELoss", (), dict(reduce=False)),
]


def _torch_constants(layer) -> list[str]:
    """The configuration attributes torch lists for a layer class (``__constants__``)."""
    names = []
    for cls in type(layer).__mro__:
        names += [n for n in getattr(cls, "__constants__", []) if n not in names]
    return names


@pytest.mark.parametrize("case", LAYERS + STATIC_ONLY, ids=repr)
def test_repr_and_configuration_match_torch(case):
    mini, ref = case.build(nn), case.build(tnn)
    assert repr(mini) == repr(ref)
    for name in _torch_constants(ref):
        assert getattr(mini, name) == getattr(ref, name), name
    assert mini.training is True


@pytest.mark.parametrize("case", LAYERS + STATIC_ONLY, ids=repr)
def test_parameters_and_buffers_match_torch(case):
    mini, ref = case.build(nn), case.build(tnn)

    def describe(named):
        return [(n, tuple(t.shape), str(t.dtype).replace("torch.", ""), t.requires_grad) for n, t in named]

    assert describe(mini.named_parameters()) == describe(ref.named_parameters())
    assert describe(mini.named_buffers()) == describe(ref.named_buffers())
    assert list(mini.state_dict()) == list(ref.state_dict())
    for p in mini.parameters():
        assert isinstance(p, nn.Parameter)


# Dropout in training draws random masks, which differ between the libraries; its
# training behaviour is checked statistically in the dropout tests below.
FORWARD_CASES = [(case, training) for case in LAYERS for training in (True, False)
                 if not (training and case.name.startswith("Dropout"))]


@pytest.mark.parametrize("case, training", FORWARD_CASES,
                         ids=[f"{c!r}-{'train' if t else 'eval'}" for c, t in FORWARD_CASES])
def test_forward_and_backward_match_torch(case, training, dtype):
    mini, ref = twins(lambda lib: case.build(lib.nn), dtype)
    mini.train(training)
    ref.train(training)
    layers = {minicnn: mini, torch: ref}
    for step in range(2):  # two batches: running statistics and momentum=None averaging
        x = rand(*case.shape, dtype=dtype)
        mini_run, ref_run = run_both(lambda lib, F, t: layers[lib](t), x)
        check(mini_run, ref_run, dtype, f"{case} step {step}")
        assert_same_grads(mini, ref, dtype)
        assert_same_tensors(mini.named_buffers(), ref.named_buffers(), dtype, "buffer")


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_conv2d_algorithm_keyword(algorithm, dtype):
    ref = tnn.Conv2d(3, 4, 3, stride=2, padding=1).to(torch_dtype(dtype))
    mini = nn.Conv2d(3, 4, 3, stride=2, padding=1, algorithm=algorithm).to(dtype)
    mini.load_state_dict(numpy_state(ref))
    assert repr(mini) == repr(ref)[:-1] + f", algorithm={algorithm})"
    mini_run, ref_run = run_both(lambda lib, F, t: {minicnn: mini, torch: ref}[lib](t),
                                 rand(2, 3, 7, 6, dtype=dtype))
    check(mini_run, ref_run, dtype, f"Conv2d algorithm={algorithm}")
    assert_same_grads(mini, ref, dtype)


# ---------------------------------------------------------------------------- losses
def _class_targets(n, classes, ignore=None):
    t = _rng.integers(0, classes, n)
    if ignore is not None:
        t[0] = ignore
    return t


def _logits(*shape):
    return lambda: rand(*shape)


def _probabilities(*shape):
    return lambda: 1 / (1 + np.exp(-rand(*shape)))


WEIGHTS = np.array([0.5, 1.0, 2.0, 0.25, 1.5])
LOSSES = [  # (id, build(lib) -> loss module, make input, make target)
    ("ce", lambda lib: lib.nn.CrossEntropyLoss(), _logits(4, 5), lambda: _class_targets(4, 5)),
    ("ce_weight_sum", lambda lib: lib.nn.CrossEntropyLoss(weight=lib.tensor(WEIGHTS), reduction="sum"),
     _logits(4, 5), lambda: _class_targets(4, 5)),
    ("ce_ignore_smooth", lambda lib: lib.nn.CrossEntropyLoss(ignore_index=2, label_smoothing=0.1),
     _logits(4, 5), lambda: _class_targets(4, 5, ignore=2)),
    ("ce_spatial_none", lambda lib: lib.nn.CrossEntropyLoss(reduction="none"), _logits(2, 5, 3, 2),
     lambda: _rng.integers(0, 5, (2, 3, 2))),
    ("nll", lambda lib: lib.nn.NLLLoss(), _logits(4, 5), lambda: _class_targets(4, 5)),
    ("nll_weight", lambda lib: lib.nn.NLLLoss(weight=lib.tensor(WEIGHTS)), _logits(4, 5),
     lambda: _class_targets(4, 5)),
    ("mse", lambda lib: lib.nn.MSELoss(), _logits(3, 4), _logits(3, 4)),
    ("mse_sum", lambda lib: lib.nn.MSELoss(reduction="sum"), _logits(3, 4), _logits(3, 4)),
    ("l1", lambda lib: lib.nn.L1Loss(), _logits(3, 4), _logits(3, 4)),
    ("bce", lambda lib: lib.nn.BCELoss(), _probabilities(3, 4), _probabilities(3, 4)),
    ("bce_logits", lambda lib: lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor(WEIGHTS[:4])),
     _logits(3, 4), _probabilities(3, 4)),
]


@pytest.mark.parametrize("loss_id, build, make_input, make_target", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses_match_torch(loss_id, build, make_input, make_target, dtype):
    losses = {minicnn: build(minicnn).to(dtype), torch: build(torch).to(torch_dtype(dtype))}
    x = make_input().astype(dtype)
    target = make_target()
    target = target.astype(dtype) if target.dtype.kind == "f" else target  # class indices stay int64
    mini_run, ref_run = run_both(lambda lib, F, a, t: losses[lib](a, t), x, target,
                                 requires_grad=[True, False])
    check(mini_run, ref_run, dtype, loss_id)


# ---------------------------------------------------------------------------- dropout in training
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_and_rescales_survivors(p):
    layer = nn.Dropout(p)
    x = minicnn.ones(20000)
    y = layer(x).numpy()
    dropped = float((y == 0).mean())
    sigma = math.sqrt(p * (1 - p) / y.size)
    assert abs(dropped - p) < 5 * sigma
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_dropout2d_drops_whole_channels():
    layer = nn.Dropout2d(0.5)
    y = layer(minicnn.ones(40, 50, 3, 3)).numpy()
    per_channel = y.reshape(40, 50, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.35 < float((per_channel[..., 0] == 0).mean()) < 0.65


@pytest.mark.parametrize("p, expected", [(0.0, 1.0), (1.0, 0.0)])
def test_dropout_extreme_probabilities(p, expected):
    np.testing.assert_array_equal(nn.Dropout(p)(minicnn.ones(5, 4)).numpy(), np.full((5, 4), expected))


# ---------------------------------------------------------------------------- nested models
def nested_model(lib):
    """Every registration path: Sequential with names, ModuleList, ModuleDict, custom Modules
    with their own Parameter and buffers (one non-persistent), a None parameter and a layer
    shared by two parents."""
    nn_ = lib.nn

    class Block(nn_.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv = nn_.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn = nn_.BatchNorm2d(channels)
            self.gain = nn_.Parameter(lib.ones(channels, 1, 1))
            self.register_parameter("unused", None)
            self.register_buffer("offset", lib.zeros(channels, 1, 1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.bn(self.conv(x)) * self.gain + self.offset + x

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn_.Sequential(OrderedDict(conv=nn_.Conv2d(2, 4, 3, padding=1), act=nn_.ReLU()))
            self.blocks = nn_.ModuleList([Block(4), Block(4)])
            self.pool = nn_.AdaptiveAvgPool2d(1)
            self.heads = nn_.ModuleDict({"cls": nn_.Linear(4, 3), "aux": nn_.Linear(4, 2)})
            self.tied = self.heads["cls"]  # the same Linear under a second name

        def forward(self, x):
            x = self.stem(x)
            for block in self.blocks:
                x = block(x)
            x = self.pool(x).flatten(1)
            return self.heads["cls"](x) + self.tied(x), self.heads["aux"](x)

    return Net()


def test_tree_walks_match_torch():
    mini, ref = nested_model(minicnn), nested_model(torch)

    def names(items):
        return [n for n, _ in items]

    assert names(mini.named_parameters()) == names(ref.named_parameters())
    assert names(mini.named_buffers()) == names(ref.named_buffers())
    assert names(mini.named_children()) == names(ref.named_children())
    assert names(mini.named_modules()) == names(ref.named_modules())
    for walk in ("named_modules", "named_parameters"):  # shared entries repeated
        assert names(getattr(mini, walk)(remove_duplicate=False)) == \
            names(getattr(ref, walk)(remove_duplicate=False))
    assert names(mini.named_parameters(recurse=False)) == names(ref.named_parameters(recurse=False))
    assert [type(m).__name__ for m in mini.modules()] == [type(m).__name__ for m in ref.modules()]
    assert len(list(mini.parameters())) == len(list(ref.parameters()))
    assert len(list(mini.buffers())) == len(list(ref.buffers()))
    assert len(list(mini.children())) == len(list(ref.children()))
    assert repr(mini) == repr(ref)


def test_state_dict_keys_shapes_and_dtypes_match_torch():
    mini, ref = nested_model(minicnn), nested_model(torch)
    mini_state, ref_state = mini.state_dict(), ref.state_dict()
    assert list(mini_state) == list(ref_state)  # includes the tied Linear under both names
    for key, t in ref_state.items():
        assert mini_state[key].shape == tuple(t.shape), key
        assert str(mini_state[key].dtype) == str(t.dtype).replace("torch.", ""), key
    assert "blocks.0.scratch" not in mini_state  # non-persistent
    assert mini_state["blocks.0.bn.num_batches_tracked"].dtype == np.int64


def test_state_dict_shares_memory_and_keep_vars():
    model = nn.Linear(3, 2)
    state = model.state_dict()
    assert state["weight"].array is model.weight.array and not state["weight"].requires_grad
    assert model.state_dict(keep_vars=True)["weight"] is model.weight
    assert list(model.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias"]


def test_deepcopy_gives_an_independent_model():
    model = nested_model(minicnn)
    clone = copy.deepcopy(model)
    assert list(clone.state_dict()) == list(model.state_dict())
    assert clone.tied is clone.heads["cls"]  # sharing survives the copy
    clone.heads["cls"].weight.data.mul_(0)
    assert model.heads["cls"].weight.numpy().any()


def test_nested_model_with_torch_weights_matches_torch(dtype):
    """Every kind of entry (custom Parameter, buffers, BN statistics) is loaded and used.

    All of torch's state is randomised first, and the models run in eval mode so that BN
    normalises with the loaded running statistics.
    """
    ref = nested_model(torch).to(torch_dtype(dtype)).eval()
    with torch.no_grad():
        for name, t in ref.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif t.is_floating_point():
                t.normal_(0, 0.5)
    mini = nested_model(minicnn).to(dtype).eval()
    mini.load_state_dict(numpy_state(ref))
    x = rand(2, 2, 5, 5, dtype=dtype)
    mini_run, ref_run = run_both(lambda lib, F, t: {minicnn: mini, torch: ref}[lib](t), x)
    check(mini_run, ref_run, dtype, "nested model")
    assert_same_grads(mini, ref, dtype)
    assert_same_tensors(mini.named_buffers(), ref.named_buffers(), dtype, "buffer")


# ---------------------------------------------------------------------------- load_state_dict
def lenet_head(lib_nn, hidden=84):
    return lib_nn.Sequential(lib_nn.Linear(120, hidden), lib_nn.ReLU(), lib_nn.Linear(hidden, 10))


def _load_error(model, state, strict=True) -> str:
    with pytest.raises(RuntimeError, match=r"^Error\(s\) in loading state_dict for ") as info:
        model.load_state_dict(state, strict=strict)
    return str(info.value)


def test_missing_and_unexpected_keys_raise_like_torch():
    mini, ref = lenet_head(nn), lenet_head(tnn)
    state = numpy_state(ref)
    del state["2.bias"]
    state["3.weight"] = np.zeros(3)
    state["0.extra"] = np.zeros(1)
    torch_message = _load_error(ref, {k: torch.from_numpy(v) for k, v in state.items()})
    assert _load_error(mini, state) == torch_message
    assert 'Missing key(s) in state_dict: "2.bias"' in torch_message


def test_non_strict_returns_the_same_key_lists_as_torch():
    mini, ref = lenet_head(nn), lenet_head(tnn)
    state = numpy_state(ref)
    del state["0.weight"]
    state["head.scale"] = np.ones(1)
    mini_result = mini.load_state_dict(state, strict=False)
    ref_result = ref.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert mini_result.missing_keys == ref_result.missing_keys == ["0.weight"]
    assert mini_result.unexpected_keys == ref_result.unexpected_keys == ["head.scale"]
    np.testing.assert_array_equal(mini[2].weight.numpy(), state["2.weight"])  # the rest loaded
    assert repr(mini.load_state_dict(numpy_state(ref))) == "<All keys matched successfully>"


def test_size_mismatches_are_all_listed_even_when_not_strict():
    model = lenet_head(nn, hidden=120)
    state = numpy_state(lenet_head(tnn))
    for strict in (True, False):
        message = _load_error(model, state, strict)
        assert message.startswith("Error(s) in loading state_dict for Sequential:")
        assert ("size mismatch for 2.weight: copying a param with shape (10, 84) from checkpoint, "
                "the shape in current model is (10, 120).") in message
        assert "size mismatch for 0.weight: copying a param with shape (84, 120)" in message
        assert "size mismatch for 0.bias" in message


def test_load_rejects_values_that_are_not_arrays():
    model = nn.Linear(2, 2)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    state["bias"] = [0.0, 1.0]
    assert 'While copying the parameter named "bias"' in _load_error(model, state)
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([("weight", np.zeros((2, 2)))])


def test_load_copies_in_place_casting_the_dtype():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    params = [(p, p.array) for p in model.parameters()]
    ref = tnn.Sequential(tnn.Linear(3, 2), tnn.BatchNorm1d(2)).double()
    ref.train()(torch.randn(4, 3, dtype=torch.float64))  # non-trivial running stats, counter 1
    model.load_state_dict(numpy_state(ref))
    for p, array in params:  # same objects, same arrays: an optimizer built earlier still works
        assert p.array is array and p.dtype == np.float32
    assert_close(model[1].running_var, ref[1].running_var.float(), np.float32, "running_var")
    assert model[1].num_batches_tracked.dtype == np.int64 and model[1].num_batches_tracked.item() == 1


def test_load_accepts_minicnn_tensors_and_torch_tensors():
    source = lenet_head(nn)
    target = lenet_head(nn)
    target.load_state_dict(source.state_dict())
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.array is not b.array
    ref = lenet_head(tnn)
    target.load_state_dict(ref.state_dict())  # torch tensors (no grad) read through __array__
    np.testing.assert_array_equal(target[0].weight.numpy(), ref[0].weight.detach().numpy())


def test_batchnorm_tolerates_a_missing_counter_like_torch():
    mini, ref = nn.BatchNorm2d(3), tnn.BatchNorm2d(3)
    state = numpy_state(ref)
    del state["num_batches_tracked"]
    ref_result = ref.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    assert mini.load_state_dict(state) == ref_result == ([], [])


# ---------------------------------------------------------------------------- Module mechanics
def test_attribute_assignment_registers_like_torch():
    for lib in (minicnn, torch):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(2))
        m.child = lib.nn.Linear(2, 2)
        m.plain = lib.ones(2)  # a plain tensor attribute is not registered
        m.register_buffer("buf", lib.zeros(1))
        m.buf = lib.ones(1)  # re-assigning a buffer keeps it a buffer
        m.w = None  # a parameter slot may hold None
        assert [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
        assert list(m.state_dict()) == ["buf", "child.weight", "child.bias"]
        assert m.buf.numpy().tolist() == [1.0]
        with pytest.raises(TypeError, match="as parameter 'w'"):
            m.w = lib.ones(2)


def test_registration_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", minicnn.zeros(1))
    with pytest.raises(KeyError, match=r'contain "\.", got: a\.b'):
        m.register_buffer("a.b", minicnn.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
        m.register_buffer("b", 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'c'"):
        m.register_parameter("c", minicnn.zeros(2))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("d", 3)
    with pytest.raises(AttributeError, match="^'Linear' object has no attribute 'nothing'$"):
        m.nothing  # noqa: B018
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        nn.Module()(1)


def test_delattr_dir_and_get_submodule():
    model = nested_model(minicnn)
    del model.pool
    assert "pool" not in dict(model.named_children())
    block = model.get_submodule("blocks.1")
    del block.gain
    assert "gain" not in dict(block.named_parameters())
    keys = dir(model.blocks)
    assert "append" in keys and not any(k.isdigit() for k in keys)
    assert {"conv", "bn", "offset", "forward"} <= set(dir(block))
    assert model.get_submodule("heads.cls") is model.tied
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        model.get_submodule("stem.nope")


def test_apply_visits_children_first_like_torch():
    visited = {}
    for lib in (minicnn, torch):
        order = visited[lib] = []
        nested_model(lib).apply(lambda m: order.append(type(m).__name__))
    assert visited[minicnn] == visited[torch]


def test_train_eval_propagate_like_torch():
    mini, ref = nested_model(minicnn), nested_model(torch)
    for model in (mini, ref):
        assert model.eval() is model
        model.blocks.train()
    assert [m.training for m in mini.modules()] == [m.training for m in ref.modules()]
    assert not mini.training and mini.blocks[1].bn.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        mini.train("yes")


def test_requires_grad_and_zero_grad():
    model = lenet_head(nn)
    model(minicnn.randn(2, 120)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype and not p.grad.numpy().any()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_forward_hooks_modify_and_are_removable():
    layer = nn.Linear(3, 2)
    x = minicnn.randn(4, 3)
    plain = layer(x).numpy()
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append((m, args[0].shape)) or out + 1)
    np.testing.assert_allclose(layer(x).numpy(), layer.forward(x * 2).numpy() + 1, rtol=1e-6)
    assert calls == [(layer, (4, 3))]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(layer(x).numpy(), plain)
    with layer.register_forward_pre_hook(lambda m, args: args[0] * 0):  # a non-tuple is wrapped
        np.testing.assert_allclose(layer(x).numpy(), np.broadcast_to(layer.bias.numpy(), (4, 2)))
    np.testing.assert_allclose(layer(x).numpy(), plain)


def test_hooks_fire_in_the_same_order_as_torch():
    order = {}
    for lib in (minicnn, torch):
        model, seen = nested_model(lib), []
        for name, module in model.named_modules():
            module.register_forward_pre_hook(lambda m, a, name=name: seen.append("pre " + name))
            module.register_forward_hook(lambda m, a, o, name=name: seen.append("post " + name))
        model(lib.tensor(rand(1, 2, 4, 4, dtype=np.float32)))
        order[lib] = seen
    assert order[minicnn] == order[torch]


def test_to_converts_in_place_and_keeps_integer_buffers(dtype):
    model, ref = twins(lambda lib: lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.BatchNorm2d(3)),
                       np.float32)
    model(minicnn.randn(2, 2, 5, 5)).sum().backward()
    params = list(model.parameters())
    assert model.to(dtype) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p in model.parameters():
        assert p.dtype == dtype and p.grad.dtype == dtype
    assert model[1].running_mean.dtype == dtype
    assert model[1].num_batches_tracked.dtype == np.int64
    ref.to(torch_dtype(dtype)).train()
    x = rand(2, 2, 5, 5, dtype=dtype)
    assert_close(model(minicnn.tensor(x)), ref(torch.tensor(x)), dtype, "after to()")
    assert model.double()[0].weight.dtype == np.float64
    assert model.float()[0].weight.dtype == np.float32
    assert model.to(minicnn.zeros(1, dtype=minicnn.float64))[0].bias.dtype == np.float64
    assert model.to("cpu") is model
    with pytest.raises(TypeError, match="only accepts floating point"):
        model.to(minicnn.int64)


def test_parameter_shares_memory_and_prints_like_torch():
    t = minicnn.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert p.array is t.array and p.requires_grad and p.is_leaf
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(") and repr(p).endswith("requires_grad=True)")
    assert nn.Parameter().shape == (0,)


# ---------------------------------------------------------------------------- containers
def _sequence_edits(lib_nn):
    seq = lib_nn.Sequential(lib_nn.Linear(2, 3), lib_nn.ReLU(), lib_nn.Linear(3, 4), lib_nn.Tanh())
    seq.append(lib_nn.Sigmoid())
    seq.insert(1, lib_nn.Dropout(0.1))
    del seq[3]
    popped = seq.pop(0)
    seq[-1] = lib_nn.ELU()
    return seq, popped


def test_sequential_edits_match_torch():
    (mini, mini_popped), (ref, ref_popped) = _sequence_edits(nn), _sequence_edits(tnn)
    assert repr(mini) == repr(ref) and repr(mini_popped) == repr(ref_popped)
    assert len(mini) == len(ref) == 4
    assert repr(mini[1:3]) == repr(ref[1:3]) and mini[1:3][0] is mini[1]
    assert repr(mini[-2]) == repr(ref[-2])
    assert [type(m).__name__ for m in mini] == [type(m).__name__ for m in ref]
    with pytest.raises(IndexError, match="out of range"):
        mini[4]


def test_sequential_with_names_and_forward():
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU()))
    assert seq[0] is seq.fc and seq[-1] is seq.act
    x = minicnn.randn(5, 2)
    np.testing.assert_allclose(seq(x).numpy(), np.maximum(seq.fc(x).numpy(), 0))


def test_module_list_matches_torch():
    lists = {}
    for lib_nn in (nn, tnn):
        ml = lib_nn.ModuleList([lib_nn.ReLU(), lib_nn.ReLU(), lib_nn.Linear(2, 2)])
        ml.append(lib_nn.ReLU())
        ml.extend([lib_nn.Tanh(), lib_nn.Tanh()])
        ml += [lib_nn.Tanh()]
        ml.insert(0, lib_nn.Sigmoid())
        del ml[1]
        lists[lib_nn] = ml
    mini, ref = lists[nn], lists[tnn]
    assert repr(mini) == repr(ref)  # runs of equal entries are compressed: "(3-5): 3 x Tanh()"
    assert repr(mini[2:5]) == repr(ref[2:5])
    assert [n for n, _ in mini.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList())


def test_module_dict_matches_torch():
    dicts = {}
    for lib_nn in (nn, tnn):
        md = lib_nn.ModuleDict({"b": lib_nn.Linear(2, 2), "a": lib_nn.ReLU()})
        md["c"] = lib_nn.Tanh()
        md.update([("d", lib_nn.Sigmoid())])
        popped = md.pop("a")
        dicts[lib_nn] = (md, popped)
    (mini, mini_popped), (ref, _) = dicts[nn], dicts[tnn]
    assert repr(mini) == repr(ref)
    assert list(mini.keys()) == list(ref.keys()) == ["b", "c", "d"]
    assert list(mini) == list(mini.keys()) and "c" in mini and "a" not in mini
    assert [type(v).__name__ for v in mini.values()] == [type(v).__name__ for _, v in ref.items()]
    assert isinstance(mini_popped, nn.ReLU) and len(mini) == 3
    mini.clear()
    assert len(mini) == 0


# ---------------------------------------------------------------------------- errors naming the layer
def test_conv_channel_mismatch_names_the_layer():
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\):") as info:
        nn.Conv2d(3, 8, 3)(minicnn.randn(2, 1, 8, 8))
    message = str(info.value)
    assert message.startswith("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)):")
    assert "expected input with 3 channels" in message and "(2, 1, 8, 8)" in message


@pytest.mark.parametrize("layer, shape, pattern", [
    (lambda: nn.BatchNorm2d(16), (2, 8, 4, 4), r"BatchNorm2d\(16, .*expected input with 16 channels.*\(2, 8, 4, 4\)"),
    (lambda: nn.BatchNorm1d(4), (3, 5), r"BatchNorm1d\(4, .*expected input with 4 channels"),
    (lambda: nn.Linear(120, 84), (2, 100), r"Linear\(in_features=120.*expected input with 120 features.*\(2, 100\)"),
    (lambda: nn.LayerNorm(5), (2, 4), r"LayerNorm\(\(5,\).*last 1 dimension\(s\) are \(5,\).*\(2, 4\)"),
    (lambda: nn.GroupNorm(2, 4), (2, 6, 3), r"GroupNorm\(2, 4.*expected input with 4 channels"),
    (lambda: nn.Unflatten(1, (2, 3)), (2, 5), r"Unflatten.*don't multiply up to the size of dim 1 \(5\)"),
    (lambda: nn.Conv2d(3, 8, 3), (3, 8, 8, 8, 1), r"Conv2d\(3, 8.*expected 3D or 4D input \(got 5D input\)"),
])
def test_bad_input_shapes_name_the_layer(layer, shape, pattern):
    with pytest.raises((RuntimeError, ValueError), match=pattern):
        layer()(minicnn.randn(*shape))


@pytest.mark.parametrize("layer, ndim, message", [
    (nn.BatchNorm2d, 3, "expected 4D input (got 3D input)"),
    (nn.BatchNorm1d, 4, "expected 2D or 3D input (got 4D input)"),
])
def test_batchnorm_dimension_errors_use_torchs_words(layer, ndim, message):
    for lib_layer, lib in ((layer(3), minicnn), (getattr(tnn, layer.__name__)(3), torch)):
        with pytest.raises(ValueError, match=re.escape(message)):
            lib_layer(lib.zeros(*(2, 3, 4, 4, 4)[:ndim]))


def test_dtype_mismatch_and_non_tensor_input_name_the_layer():
    with pytest.raises(RuntimeError, match=r"Linear\(.*input dtype float64 does not match.*float32"):
        nn.Linear(3, 2)(minicnn.randn(2, 3, dtype=minicnn.float64))
    with pytest.raises(TypeError, match=r"Conv2d\(.*expected a minicnn Tensor as input, got ndarray"):
        nn.Conv2d(1, 1, 1)(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("construct, error, pattern", [
    (lambda: nn.Conv2d(3, 6, 3, groups=2), ValueError, r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, r"out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: nn.Conv2d(0, 3, 3), ValueError, "in_channels must be a positive integer, got 0"),
    (lambda: nn.Conv2d(3, 3, (3, 0)), ValueError, r"kernel_size must be a positive integer, got \(3, 0\)"),
    (lambda: nn.Conv2d(3, 3, 3, stride=0), ValueError, "stride must be a positive integer"),
    (lambda: nn.Conv2d(3, 3, 3, padding=-1), ValueError, "Conv2d: padding must be a non-negative integer, got \\(-1, -1\\)"),
    (lambda: nn.Conv2d(3, 3, 3, dilation=0), ValueError, "dilation must be a positive integer"),
    (lambda: nn.Conv2d(3, 3, 2.5), TypeError, "kernel_size must be an int or a pair of ints"),
    (lambda: nn.Conv2d(3, 3, 3, padding="full"), ValueError, "Invalid padding string 'full'"),
    (lambda: nn.Conv2d(3, 3, 3, stride=2, padding="same"), ValueError, "not supported for strided"),
    (lambda: nn.Conv2d(3, 3, 3, padding_mode="reflect"), NotImplementedError, "padding_mode='reflect' is not implemented"),
    (lambda: nn.Conv2d(3, 3, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
    (lambda: nn.Linear(0, 3), ValueError, "Linear: in_features must be a positive integer, got 0"),
    (lambda: nn.BatchNorm2d(0), ValueError, "BatchNorm2d: num_features must be a positive integer"),
    (lambda: nn.GroupNorm(3, 4), ValueError, r"num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda: nn.LayerNorm((4, 0)), ValueError, "LayerNorm: normalized_shape must be a positive integer"),
    (lambda: nn.Dropout(1.5), ValueError, "Dropout: dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda: nn.Dropout2d(-0.1), ValueError, "Dropout2d: dropout probability"),
    (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be a positive integer"),
    (lambda: nn.AvgPool2d(2, padding=-1), ValueError, "AvgPool2d: padding must be"),
    (lambda: nn.Hardtanh(1.0, 0.0), ValueError, r"max_val \(0.0\) must be greater than min_val \(1.0\)"),
    (lambda: nn.Unflatten(1, 6), TypeError, "unflattened_size must be a tuple or list of ints"),
])
def test_invalid_constructor_arguments(construct, error, pattern):
    with pytest.raises(error, match=pattern):
        construct()


# ---------------------------------------------------------------------------- init
def _uniform_checks(values: np.ndarray, bound: float) -> None:
    """All within [-bound, bound]; mean ~ 0 and std ~ bound/sqrt(3), within 5 sigma of the
    sampling error of the estimates."""
    n = values.size
    std = bound / math.sqrt(3)
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert abs(values.mean()) < 5 * std / math.sqrt(n)
    # The sample variance of U(-b, b) has relative standard error sqrt(0.8 / n).
    assert abs(values.var() / std**2 - 1) < 5 * math.sqrt(0.8 / n)


def _normal_checks(values: np.ndarray, std: float, mean: float = 0.0) -> None:
    n = values.size
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(values.var() / std**2 - 1) < 5 * math.sqrt(2 / n)


def test_conv2d_and_linear_default_init_follow_torchs_bounds():
    conv = nn.Conv2d(64, 40, 3)
    bound = 1 / math.sqrt(64 * 9)  # kaiming_uniform_(a=sqrt(5)): sqrt(6 / (6 fan_in))
    _uniform_checks(conv.weight.numpy(), bound)
    assert np.abs(conv.bias.numpy()).max() <= bound
    grouped = nn.Conv2d(8, 4000, 3, groups=4)  # fan_in counts only the group's channels
    _uniform_checks(grouped.weight.numpy(), 1 / math.sqrt(2 * 9))
    _uniform_checks(grouped.bias.numpy(), 1 / math.sqrt(2 * 9))
    linear = nn.Linear(300, 2000)
    _uniform_checks(linear.weight.numpy(), 1 / math.sqrt(300))
    _uniform_checks(linear.bias.numpy(), 1 / math.sqrt(300))


def test_normalization_init():
    for layer in (nn.BatchNorm2d(6), nn.LayerNorm((2, 3)), nn.GroupNorm(2, 6)):
        assert (layer.weight.numpy() == 1).all() and (layer.bias.numpy() == 0).all()
    bn = nn.BatchNorm1d(4)
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()
    assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0), ("linear", 0)])
def test_kaiming_init(mode, nonlinearity, a):
    w = nn.Parameter(minicnn.empty(200, 30, 3, 3))
    fan = 30 * 9 if mode == "fan_in" else 200 * 9
    std = tnn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    nn.init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    _normal_checks(w.numpy(), std)
    assert nn.init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity) is w
    _uniform_checks(w.numpy(), math.sqrt(3) * std)


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_init(gain):
    w = minicnn.empty(300, 500, dtype=minicnn.float64)
    std = gain * math.sqrt(2 / (300 + 500))
    nn.init.xavier_uniform_(w, gain=gain)
    _uniform_checks(w.numpy(), math.sqrt(3) * std)
    nn.init.xavier_normal_(w, gain=gain)
    _normal_checks(w.numpy(), std)
    assert w.dtype == np.float64


def test_basic_fills():
    w = minicnn.empty(200, 300)
    nn.init.uniform_(w, -0.5, 1.5)
    assert w.numpy().min() >= -0.5 and w.numpy().max() <= 1.5
    _uniform_checks(w.numpy() - 0.5, 1.0)
    nn.init.normal_(w, 2.0, 0.5)
    _normal_checks(w.numpy(), 0.5, mean=2.0)
    for fill, value in ((nn.init.ones_, 1), (nn.init.zeros_, 0), (lambda t: nn.init.constant_(t, 0.3), 0.3)):
        fill(w)
        np.testing.assert_array_equal(w.numpy(), np.full(w.shape, value, np.float32))


def test_trunc_normal_matches_the_truncated_distribution():
    w = minicnn.empty(400, 400, dtype=minicnn.float64)
    mean, std, a, b = 0.5, 1.0, -1.0, 2.0
    nn.init.trunc_normal_(w, mean, std, a, b)
    values = w.numpy()
    assert values.min() >= a and values.max() <= b
    # Moments of N(mean, std²) truncated to [a, b], from the standard formulas.
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    expected_mean = mean + std * (pdf(alpha) - pdf(beta)) / mass
    expected_var = std**2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass
                             - ((pdf(alpha) - pdf(beta)) / mass) ** 2)
    n = values.size
    assert abs(values.mean() - expected_mean) < 5 * math.sqrt(expected_var / n)
    assert abs(values.var() / expected_var - 1) < 5 * math.sqrt(2 / n)


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2)])
def test_orthogonal_init(shape):
    w = minicnn.empty(*shape, dtype=minicnn.float64)
    nn.init.orthogonal_(w, gain=2.0)
    flat = w.numpy().reshape(shape[0], -1) / 2.0
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_gain_and_fans_match_torch():
    for nonlinearity, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)]:
        assert nn.init.calculate_gain(nonlinearity, param) == tnn.init.calculate_gain(nonlinearity, param)
    for shape in [(5, 3), (8, 4, 3, 3), (2, 6, 5), (7, 1, 1, 2)]:
        assert nn.init._calculate_fan_in_and_fan_out(minicnn.empty(*shape)) == \
            tnn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(minicnn.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(minicnn.empty(3, 3), mode="fan_avg")


def test_init_is_reproducible_under_manual_seed():
    def weights():
        return [p.numpy().copy() for p in nested_model(minicnn).parameters()]

    minicnn.manual_seed(123)
    first = weights()
    minicnn.manual_seed(123)
    second = weights()
    minicnn.manual_seed(124)
    third = weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], third[0])


# ---------------------------------------------------------------------------- utils
def _twins_with_grads(dtype, scale=1.0):
    mini, ref = twins(lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Linear(3, 2)), dtype)
    for m, t in zip(mini.parameters(), ref.parameters()):
        g = rand(*m.shape, dtype=dtype) * scale
        m.grad, t.grad = minicnn.tensor(g), torch.tensor(g)
    return mini, ref


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    mini, ref = _twins_with_grads(dtype)
    total_mini = nn.utils.clip_grad_norm_(mini.parameters(), max_norm, norm_type)
    total_ref = tnn.utils.clip_grad_norm_(ref.parameters(), max_norm, norm_type)
    assert_close(total_mini, total_ref, dtype, "total norm")
    assert total_mini.dtype == dtype
    assert_same_grads(mini, ref, dtype)


def test_clip_grad_norm_edge_cases():
    mini, _ = _twins_with_grads(np.float32)
    mini[0].weight.grad.array[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(mini.parameters(), 1.0, error_if_nonfinite=True)
    single = nn.Parameter(minicnn.zeros(3))
    single.grad = minicnn.tensor([3.0, 4.0, 0.0])
    assert nn.utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(nn.Linear(2, 2).parameters(), 1.0).item() == 0.0  # no grads


def test_clip_grad_value_matches_torch(dtype):
    mini, ref = _twins_with_grads(dtype, scale=2.0)
    nn.utils.clip_grad_value_(mini.parameters(), 0.7)
    tnn.utils.clip_grad_value_(ref.parameters(), 0.7)
    assert_same_grads(mini, ref, dtype)


def test_parameters_to_vector_and_back_match_torch():
    mini, ref = twins(lambda lib: lenet_head(lib.nn, hidden=8), np.float64)
    vec = nn.utils.parameters_to_vector(mini.parameters())
    assert_close(vec, tnn.utils.parameters_to_vector(ref.parameters()), np.float64, "vector")
    new = rand(vec.numel())
    nn.utils.vector_to_parameters(minicnn.tensor(new.astype(np.float32)), mini.parameters())
    tnn.utils.vector_to_parameters(torch.tensor(new.astype(np.float32)), ref.parameters())
    assert_same_tensors(mini.named_parameters(), ref.named_parameters(), np.float32, "param")
    with pytest.raises(ValueError, match="expected a vector of"):
        nn.utils.vector_to_parameters(minicnn.zeros(3), mini.parameters())
