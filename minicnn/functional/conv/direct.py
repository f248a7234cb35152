"""conv2d straight from the definition, one kernel tap at a time.

The definition (group g holds input channels g*Cg … g*Cg + Cg-1 and output channels
g*Co … g*Co + Co-1, with Cg = C/G and Co = C_out/G):

    y[n, g*Co + o, p, q] = sum over c < Cg, i < KH, j < KW of
                           w[g*Co + o, c, i, j] * xpad[n, g*Cg + c, p*SH + i*DH, q*SW + j*DW]

Take the sum over the taps (i, j) last. For one fixed tap, the inputs it reads for all output
pixels form one strided slice of the padded input (see ``geometry.taps.tap_slice``), and the sum
over c is a matrix product of the tap's (Co, Cg) weight matrix with that slice. So the
convolution is KH*KW small GEMMs over channels, each for the whole batch, added up:

    y[:, g] = sum over taps t of W_t[g] @ X_t[:, g]

No column matrix is built: only one tap's slice (the size of the output) exists at a time.
The backward runs the same loop over taps with the products transposed.
"""
from __future__ import annotations

from ...backends.arrays import array_module
from ...geometry import ConvGeometry, crop_padding, kernel_taps, pad_input, tap_slice


def _weight_taps(w, groups: int):
    """(C_out, Cg, KH, KW) -> (KH*KW, G, Co, Cg): one contiguous (Co x Cg) matrix per tap and group."""
    xp = array_module(w)
    out_channels, group_channels, kh, kw = w.shape
    per_group = w.reshape(groups, out_channels // groups, group_channels, kh * kw)
    return xp.ascontiguousarray(per_group.transpose(3, 0, 1, 2))


def _input_tap(padded, geom: ConvGeometry, i: int, j: int):
    """(N, C, Hp, Wp) -> X_t: (N, G, Cg, OH*OW), what tap (i, j) reads for every output pixel.

    The slice is strided, so flattening its (OH, OW) axes copies it — one output-sized copy.
    """
    batch, channels = padded.shape[:2]
    oh, ow = geom.output_size
    return padded[tap_slice(geom, i, j)].reshape(batch, geom.groups, channels // geom.groups, oh * ow)


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
    xp = array_module(x)
    batch = x.shape[0]
    out_channels = w.shape[0]
    groups = geom.groups
    oh, ow = geom.output_size
    padded = pad_input(x, geom)
    weight_taps = _weight_taps(w, groups)
    y = xp.zeros((batch, groups, out_channels // groups, oh * ow), dtype=xp.result_type(x, w))
    for t, (i, j) in enumerate(kernel_taps(geom)):
        # (G, Co, Cg) @ (N, G, Cg, L) -> (N, G, Co, L): the sum over input channels for this tap.
        y += xp.matmul(weight_taps[t], _input_tap(padded, geom, i, j))
    return y.reshape(batch, out_channels, oh, ow)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None).

    Differentiating y[:, g] += W_t[g] @ X_t[:, g] tap by tap:
      dW_t[g]  = sum_n dY[n, g] @ X_t[n, g]^T        (the input slice the tap read)
      dX_t[:, g] = W_t[g]^T @ dY[:, g]               (added back onto that same slice)
    Taps overlap in the input, so the input gradients of successive taps accumulate.
    """
    xp = array_module(x)
    batch, channels = x.shape[:2]
    out_channels, group_channels, kh, kw = w.shape
    groups = geom.groups
    oh, ow = geom.output_size
    grad_y = grad_y.reshape(batch, groups, out_channels // groups, oh * ow)
    weight_taps = _weight_taps(w, groups)
    padded = pad_input(x, geom) if need_weight else None
    grad_weight_taps = xp.empty_like(weight_taps) if need_weight else None
    grad_padded = xp.zeros((batch, channels) + geom.padded_size, dtype=x.dtype) if need_input else None
    for t, (i, j) in enumerate(kernel_taps(geom)):
        if need_weight:
            x_tap = _input_tap(padded, geom, i, j)
            grad_weight_taps[t] = xp.matmul(grad_y, x_tap.swapaxes(-1, -2)).sum(axis=0)
        if need_input:
            grad_tap = xp.matmul(weight_taps[t].swapaxes(-1, -2), grad_y)  # (N, G, Cg, L)
            grad_padded[tap_slice(geom, i, j)] += grad_tap.reshape(batch, channels, oh, ow)
    grad_x = crop_padding(grad_padded, geom) if need_input else None
    grad_w = None
    if need_weight:
        # (KH*KW, G, Co, Cg) back to the weight's (G*Co, Cg, KH, KW) layout.
        grad_w = grad_weight_taps.transpose(1, 2, 3, 0).reshape(out_channels, group_channels, kh, kw)
    return grad_x, grad_w
