"""The one error type of minicnn.load (and of the training checkpoints built on it)."""


class CheckpointError(RuntimeError):
    """A file that ``minicnn.load`` cannot read: truncated, corrupt, foreign or unsafe."""
