"""The ops, with torch's names and arguments (``import minicnn.nn.functional as F``).

Each module holds one family; every op is a Function (forward and backward side by side)
written once against the array module ``xp``.
"""
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
