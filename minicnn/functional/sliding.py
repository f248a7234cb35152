"""The one piece of index arithmetic every sliding-window op shares (conv2d, pooling).

Output position p of a window op with stride S reads, through kernel tap a with dilation D,
the padded input at ``p*S + a*D``. Over all outputs p = 0 … count-1 one tap therefore reads
the strided range a*D, a*D + S, …, a*D + S*(count-1).
"""
from __future__ import annotations


def tap_range(tap: int, dilation: int, stride: int, count: int) -> slice:
    """The padded-input positions tap ``tap`` reads for outputs 0 … count-1, as a slice.

    The stop is one past the last position read, so the slice has exactly ``count`` elements
    even when the stride does not divide the padded size.
    """
    start = tap * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)
