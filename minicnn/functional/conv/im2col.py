"""conv2d as im2col + GEMM: copy every window into a column, then one matrix product per group.

The reference version, written to be read (the tuned one that runs by default on NumPy is
:mod:`minicnn.tuned.numpy.im2col`; it is tested against this one).

Forward. Output pixel (p, q) of sample n is the dot product of the weight, flattened over
(C/G, KH, KW), with the input window under it. Copy every window of the batch into one column
of a matrix,

    cols[g, (c, i, j), (n, p, q)] = xpad[n, g*Cg + c, p*SH + i*DH, q*SW + j*DW],

of shape (G, Cg*KH*KW, N*OH*OW), and the convolution of group g is ONE matrix product for the
whole batch,

    Y_g = W_g @ cols[g],   (Co, Cg*KH*KW) @ (Cg*KH*KW, N*OH*OW),

with W_g the group's weight reshaped to (Co, Cg*KH*KW) (Cg = C/G, Co = C_out/G). The copy is
KH*KW strided slices, one per kernel tap (``geometry.taps.tap_slice``): for a fixed tap (i, j)
the pixels it reads for every output position form one strided slice of the padded input.

Backward. The product's gradients are products again:

    dW_g    = dY_g @ cols[g]^T        (the weight gradient)
    dcols_g = W_g^T @ dY_g            (the gradient of every column entry)

and col2im sends dcols back to the input: every input pixel was copied into the column of each
window covering it, so its gradient is the sum of those entries — for one fixed tap the pixels
of different output positions are distinct, so adding tap by tap sums each entry exactly once.

Memory: the column matrix is KH*KW times the input (the windows overlap). That is the price of
turning the convolution into one large GEMM, which BLAS runs near the machine's peak.
"""
from __future__ import annotations

from ...backends.arrays import array_module
from ...geometry import ConvGeometry, crop_padding, kernel_taps, pad_input, tap_slice


def im2col(x, geom: ConvGeometry):
    """(N, C, H, W) -> cols (G, Cg*KH*KW, N*OH*OW): rows (c, i, j), columns (n, p, q)."""
    xp = array_module(x)
    batch, channels = x.shape[:2]
    (kh, kw), (oh, ow) = geom.kernel_size, geom.output_size
    padded = pad_input(x, geom)
    cols = xp.empty((channels, kh, kw, batch, oh, ow), dtype=x.dtype)
    for i, j in kernel_taps(geom):
        # what tap (i, j) reads for every output pixel: (N, C, OH, OW), channels first in cols
        cols[:, i, j] = padded[tap_slice(geom, i, j)].transpose(1, 0, 2, 3)
    # channels are group-major (c = g*Cg + c'), so splitting the rows into groups is a reshape
    return cols.reshape(geom.groups, channels // geom.groups * kh * kw, batch * oh * ow)


def col2im(cols, geom: ConvGeometry, input_shape: tuple[int, ...]):
    """The adjoint of :func:`im2col`: (G, Cg*KH*KW, N*OH*OW) -> (N, C, H, W), overlaps summed."""
    xp = array_module(cols)
    batch, channels = input_shape[:2]
    (kh, kw), (oh, ow) = geom.kernel_size, geom.output_size
    cols = cols.reshape(channels, kh, kw, batch, oh, ow)
    grad_padded = xp.zeros((batch, channels, *geom.padded_size), dtype=cols.dtype)
    for i, j in kernel_taps(geom):
        grad_padded[tap_slice(geom, i, j)] += cols[:, i, j].transpose(1, 0, 2, 3)
    return crop_padding(grad_padded, geom)  # the zero padding's gradient is dropped


def _grouped_weight(w, groups: int):
    """(C_out, Cg, KH, KW) -> (G, Co, Cg*KH*KW): W_g, flattened like the rows of the columns."""
    out_channels = w.shape[0]
    return w.reshape(groups, out_channels // groups, -1)


def _grouped_output(y, groups: int):
    """(N, C_out, OH, OW) -> (G, Co, N*OH*OW): the inverse of the forward's last step."""
    batch, out_channels = y.shape[:2]
    return y.transpose(1, 0, 2, 3).reshape(groups, out_channels // groups, -1)


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
    xp = array_module(x)
    batch, out_channels = x.shape[0], w.shape[0]
    y = xp.matmul(_grouped_weight(w, geom.groups), im2col(x, geom))  # (G, Co, N*OH*OW)
    # columns are (n, p, q): back to (N, C_out, OH, OW)
    y = y.reshape(out_channels, batch, *geom.output_size).transpose(1, 0, 2, 3)
    return xp.ascontiguousarray(y)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
    xp = array_module(x)
    weight = _grouped_weight(w, geom.groups)
    grad_y = _grouped_output(grad_y, geom.groups)  # dY_g: (G, Co, N*OH*OW)
    grad_x = grad_w = None
    if need_weight:
        grad_w = xp.matmul(grad_y, im2col(x, geom).swapaxes(1, 2)).reshape(w.shape)  # dY_g @ cols^T
    if need_input:
        grad_cols = xp.matmul(weight.swapaxes(1, 2), grad_y)  # W_g^T @ dY_g
        grad_x = col2im(grad_cols, geom, x.shape)
    return grad_x, grad_w
