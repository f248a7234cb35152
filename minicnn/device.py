"""``device``: where a tensor's array lives — ``cpu`` (NumPy) or ``cuda`` (CuPy)."""
from __future__ import annotations


class device:
    """Like ``torch.device``: ``device("cpu")``, ``device("cuda")``, ``device("cuda:0")``, ``device("cuda", 1)``.

    Unlike torch, ``device("cuda")`` equals ``device("cuda:0")``: minicnn uses the current
    CuPy device, which is device 0 unless CuPy was told otherwise.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec, index: int | None = None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        spec = str(spec)
        if ":" in spec:
            spec, number = spec.split(":", 1)
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}:{number}'")
            index = int(number)
        if spec not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {spec}"
            )
        self.type = spec
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"
