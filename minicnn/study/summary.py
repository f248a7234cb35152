"""``summary(model, input_size)``: a torchsummary-style table of what every layer does.

One forward pass of a dummy batch, with a forward hook on every leaf module (a module
without children: Conv2d, ReLU, …), records per call of a layer:

    output shape     from the tensor the layer returned
    parameters       the layer's own parameters (counted at its first call only, so a layer
                     called twice — LeNet's one ReLU — does not count them twice)
    FLOPs            conv/linear: 2 x multiply-adds (see :mod:`.costs`); pooling: one per tap
                     read; activations: one per value; BatchNorm (eval): two per value
                     (a scale and a shift); reshapes and dropout (eval): zero; "?" when unknown
    receptive field  how many input pixels (rows x columns) one output value depends on
    activations      bytes of the layer's output

Receptive fields are tracked per tensor, not per position in the table, so that branches
(a ResNet's shortcut) are right: a layer's input field is the field recorded for the tensor
it receives, or, for a tensor made by plain tensor ops between layers (``out + shortcut``),
the widest field among the tensors it was computed from — found by walking back through the
autograd graph, which is why the dummy input requires grad.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .. import nn
from ..autograd import enable_grad
from ..tensor import Tensor
from .costs import conv2d_multiply_adds, flops, linear_multiply_adds
from .modes import evaluating


# ----------------------------------------------------------------------- receptive fields
@dataclass(frozen=True)
class ReceptiveField:
    """What one value of a feature map sees of the input, per axis (rows, columns).

    size   input pixels spanned by the value's window on the input
    jump   input pixels between two neighbouring values of the map (the product of strides)
    start  input coordinate of the centre of the map's first value (input pixel i is
           centred at i), so value p is centred at start + p * jump
    whole  the value depends on the whole input (after a Linear or a global pool)
    """

    size: tuple[int, int] = (1, 1)
    jump: tuple[int, int] = (1, 1)
    start: tuple[float, float] = (0.0, 0.0)
    whole: bool = False

    def through_window(self, kernel: tuple[int, int], stride: tuple[int, int],
                       dilation: tuple[int, int] = (1, 1),
                       padding: tuple[int, int] = (0, 0)) -> "ReceptiveField":
        """The field after a sliding window (conv or pool) with this top/left padding.

        The window's taps are ``dilation`` map values apart, i.e. ``dilation * jump`` input
        pixels, so it widens the field by (kernel - 1) * dilation * jump; its stride
        multiplies the jump. The first window starts ``padding`` values before the map and
        is centred (kernel - 1) * dilation / 2 values into itself.
        """
        if self.whole:
            return self
        size = tuple(s + (k - 1) * d * j for s, k, d, j in zip(self.size, kernel, dilation, self.jump))
        jump = tuple(j * s for j, s in zip(self.jump, stride))
        start = tuple(s0 + ((k - 1) * d / 2 - p) * j
                      for s0, k, d, p, j in zip(self.start, kernel, dilation, padding, self.jump))
        return ReceptiveField(size, jump, start)

    @staticmethod
    def widest(fields: Sequence["ReceptiveField"]) -> "ReceptiveField":
        """The field of a value computed from values with these fields (e.g. a residual sum)."""
        if any(f.whole for f in fields):
            return WHOLE_INPUT
        widest = max(fields, key=lambda f: f.size)
        return ReceptiveField(tuple(map(max, *(f.size for f in fields))),
                              tuple(map(max, *(f.jump for f in fields))), widest.start)

    def __str__(self) -> str:
        return "all" if self.whole else f"{self.size[0]}x{self.size[1]}"


WHOLE_INPUT = ReceptiveField(whole=True)


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


# -------------------------------------------------------------------------- layer rules
FlopCounter = Callable[[nn.Module, Tensor, Tensor], "int | None"]
FieldRule = Callable[[nn.Module, Tensor, ReceptiveField], "ReceptiveField | None"]


@dataclass(frozen=True)
class LayerRule:
    """How to count one layer type: its FLOPs and its effect on the receptive field."""

    flops: FlopCounter
    field: FieldRule


def _per_value(count: int) -> FlopCounter:
    return lambda module, x, y: count * y.numel()


def _same_field(module, x, field):
    return field


def _padding_before(module) -> tuple[int, int]:
    """Top and left padding of a conv or pool layer (conv's "same" puts the odd one after)."""
    if module.padding == "valid":
        return (0, 0)
    if module.padding == "same":
        spans = zip(_pair(module.dilation), _pair(module.kernel_size))
        return tuple(d * (k - 1) // 2 for d, k in spans)
    return _pair(module.padding)


def _window_field(module, x, field):
    dilation = getattr(module, "dilation", 1)  # AvgPool2d has none
    return field.through_window(_pair(module.kernel_size), _pair(module.stride), _pair(dilation),
                                _padding_before(module))


def _adaptive_field(module, x, field):
    """Exact when the output size divides the input size (windows of in/out, stride in/out)."""
    out = _pair(module.output_size)
    size = tuple(x.shape[-2:])
    out = tuple(s if o is None else o for s, o in zip(size, out))
    if out == (1, 1):
        return WHOLE_INPUT
    if any(s % o for s, o in zip(size, out)):
        return None
    window = tuple(s // o for s, o in zip(size, out))
    return field.through_window(window, window)


def _pool_flops(module, x, y):
    kh, kw = _pair(module.kernel_size)
    return y.numel() * kh * kw


_ACTIVATION = LayerRule(_per_value(1), _same_field)
_FREE = LayerRule(_per_value(0), _same_field)
_POOL = LayerRule(_pool_flops, _window_field)
_ADAPTIVE = LayerRule(lambda module, x, y: x.numel(), _adaptive_field)

RULES: dict[type, LayerRule] = {
    nn.Conv2d: LayerRule(lambda m, x, y: flops(conv2d_multiply_adds(y.shape, m.weight.shape)),
                         _window_field),
    nn.Linear: LayerRule(lambda m, x, y: flops(linear_multiply_adds(y.shape, m.in_features)),
                         lambda m, x, field: WHOLE_INPUT),
    nn.MaxPool2d: _POOL, nn.AvgPool2d: _POOL,
    nn.AdaptiveAvgPool2d: _ADAPTIVE, nn.AdaptiveMaxPool2d: _ADAPTIVE,
    nn.BatchNorm1d: LayerRule(_per_value(2), _same_field),
    nn.BatchNorm2d: LayerRule(_per_value(2), _same_field),
    nn.Softmax: LayerRule(_per_value(3), _same_field),      # exp, sum, divide
    nn.LogSoftmax: LayerRule(_per_value(3), _same_field),
    nn.Dropout: _FREE, nn.Dropout2d: _FREE, nn.Identity: _FREE, nn.Flatten: _FREE,
    nn.Unflatten: _FREE,
    **{kind: _ACTIVATION for kind in (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.GELU,
                                      nn.Sigmoid, nn.Tanh, nn.Hardtanh)},
}


def rule_for(module: nn.Module) -> LayerRule | None:
    """The rule of the module's class or of its nearest base class that has one."""
    return next((RULES[kind] for kind in type(module).__mro__ if kind in RULES), None)


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class LayerRow:
    """One call of a leaf module. ``params`` is None for a repeated call of the same module;
    ``flops`` and ``receptive_field`` are None when not known for the layer's type."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int | None
    flops: int | None
    receptive_field: ReceptiveField | None
    activation_bytes: int


def _bytes(count: int) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


@dataclass(frozen=True)
class ModelSummary:
    """The result of :func:`summary`; ``str()`` (and the REPL) shows it as a table."""

    model_name: str
    input_shape: tuple[int, ...]
    input_bytes: int
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    param_bytes: int

    @property
    def total_flops(self) -> int:
        """Sum over the layers whose FLOPs are known."""
        return sum(row.flops for row in self.rows if row.flops is not None)

    @property
    def activation_bytes(self) -> int:
        return sum(row.activation_bytes for row in self.rows)

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Params", "FLOPs", "Receptive field", "Activations")
        cells = [header] + [(
            f"{row.name} ({row.kind})",
            str(list(row.output_shape)),
            "(reused)" if row.params is None else f"{row.params:,}",
            "?" if row.flops is None else f"{row.flops:,}",
            "?" if row.receptive_field is None else str(row.receptive_field),
            _bytes(row.activation_bytes),
        ) for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

        def line(cols) -> str:  # names left-aligned, numbers right-aligned
            numbers = [c.rjust(w) for c, w in zip(cols[1:], widths[1:])]
            return "  ".join([cols[0].ljust(widths[0]), *numbers])

        rule = "-" * len(line(header))
        unknown = any(row.flops is None for row in self.rows)
        return "\n".join([
            f"{self.model_name}, input {list(self.input_shape)}",
            rule, line(header), rule.replace("-", "="), *map(line, cells[1:]), rule,
            f"Total params: {self.total_params:,} ({_bytes(self.param_bytes)})",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
            f"Total FLOPs: {self.total_flops:,} (a multiply-add counts 2"
            + ("; layers marked ? not counted)" if unknown else ")"),
            f"Input: {_bytes(self.input_bytes)}; layer outputs (forward activations): "
            f"{_bytes(self.activation_bytes)}",
            rule,
        ])

    __repr__ = __str__


class _Recorder:
    """The forward hooks: one :class:`LayerRow` per leaf-module call, fields per tensor."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.rows: list[LayerRow] = []
        # id(tensor) -> (tensor, field); holding the tensor keeps its id from being reused.
        self.fields: dict[int, tuple[Tensor, ReceptiveField | None]] = {}
        self.node_fields: dict[int, ReceptiveField | None] = {}
        self.seen_modules: set[int] = set()

    def remember(self, tensor: Tensor, field: ReceptiveField | None) -> None:
        self.fields[id(tensor)] = (tensor, field)

    def field_of(self, tensor: Tensor) -> ReceptiveField | None:
        """The recorded field, else the widest field among the tensors it was computed from."""
        if id(tensor) in self.fields:
            return self.fields[id(tensor)][1]
        node = tensor.grad_fn
        if node is None:  # a parameter or a constant: no pixel of the input behind it
            return None
        if id(node) not in self.node_fields:
            found = [self.field_of(t) for t in node.inputs if t is not None]
            found = [f for f in found if f is not None]
            self.node_fields[id(node)] = ReceptiveField.widest(found) if found else None
        return self.node_fields[id(node)]

    def __call__(self, module: nn.Module, args: tuple, output) -> None:
        result = output[0] if isinstance(output, (tuple, list)) else output
        x = args[0] if args and isinstance(args[0], Tensor) else None
        rule = rule_for(module)
        field = None
        if rule is not None and x is not None:
            input_field = self.field_of(x)
            field = None if input_field is None else rule.field(module, x, input_field)
        self.remember(result, field)
        first_call = id(module) not in self.seen_modules
        self.seen_modules.add(id(module))
        self.rows.append(LayerRow(
            name=self.names[id(module)],
            kind=type(module).__name__,
            output_shape=tuple(result.shape),
            params=sum(p.numel() for p in module.parameters(recurse=False)) if first_call else None,
            flops=None if rule is None or x is None else rule.flops(module, x, result),
            receptive_field=field,
            activation_bytes=result.array.nbytes,
        ))


def _dummy_input(model: nn.Module, shape: tuple[int, ...]) -> Tensor:
    """Random values in the model's dtype and device, drawn without touching minicnn's global
    generator (a summary must not change what the user's next random draw is)."""
    reference = next(model.parameters(), None)
    dtype = np.float32 if reference is None else reference.dtype
    values = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x = Tensor(values)
    if reference is not None:
        x = x.to(reference.device)
    return x.requires_grad_()  # so that every tensor computed from it is in the graph


def summary(model: nn.Module, input_size: Sequence[int], batch_size: int = 1) -> ModelSummary:
    """Shapes, parameters, FLOPs, receptive fields and activation memory of every layer.

    input_size is one sample's shape without the batch, e.g. (1, 28, 28); the pass runs on a
    batch of ``batch_size`` in eval mode (BatchNorm uses running statistics and is not
    updated; dropout is off), and the model's train/eval flags are restored afterwards.
    ``print(summary(model, (1, 28, 28)))`` shows the table.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    if not all(isinstance(n, int) and n > 0 for n in input_size) or batch_size < 1:
        raise ValueError(f"summary: input_size must be positive ints like (1, 28, 28) and "
                         f"batch_size >= 1, got input_size={tuple(input_size)}, batch_size={batch_size}")
    shape = (batch_size, *input_size)
    leaves = {id(m): (name or type(m).__name__) for name, m in model.named_modules()
              if next(m.children(), None) is None}
    recorder = _Recorder(leaves)
    x = _dummy_input(model, shape)
    recorder.remember(x, ReceptiveField())
    handles = [m.register_forward_hook(recorder) for m in model.modules() if id(m) in leaves]
    try:
        with evaluating(model), enable_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    params = list(model.parameters())
    return ModelSummary(
        model_name=type(model).__name__,
        input_shape=shape,
        input_bytes=x.array.nbytes,
        rows=recorder.rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        param_bytes=sum(p.array.nbytes for p in params),
    )
