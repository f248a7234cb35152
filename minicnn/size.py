"""``minicnn.Size``: the shape of a tensor, a tuple of ints with torch.Size's extras."""
from __future__ import annotations

import math
from typing import Iterable


class Size(tuple):
    """What ``.shape`` and ``.size()`` return (``torch.Size``).

    A tuple, so it compares equal to a plain tuple of the same ints, unpacks and indexes like
    one; slicing, ``+`` and ``*`` keep it a Size, and ``numel()`` is the number of elements a
    tensor of this shape holds (1 for the empty shape of a 0-d tensor).
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable[int] = ()) -> "Size":
        return super().__new__(cls, (int(n) for n in sizes))

    def numel(self) -> int:
        return math.prod(self)

    def __getitem__(self, key):
        item = super().__getitem__(key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other: tuple) -> "Size":
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other: tuple) -> "Size":
        return Size(tuple(other) + tuple(self))

    def __mul__(self, times: int) -> "Size":
        return Size(tuple(self) * times)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"minicnn.Size({list(self)})"

    # print() and f-strings show the plain tuple, (2, 3): what minicnn's error messages and
    # printed shapes always showed. repr (the REPL, doctests, containers) is torch's form.
    __str__ = tuple.__repr__
