"""``import minicnn.nn.functional as F`` — the same ops as :mod:`minicnn.functional`."""
from ..functional import *  # noqa: F401,F403
from ..tensor import flatten  # noqa: F401
