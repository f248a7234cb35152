"""Write a file so that readers see either the old file or the complete new one, never a part.

Downloads, IDX files and the ``.npz`` cache are all written this way: the bytes go to a
temporary file in the destination's own folder (so the final rename stays on one file
system, where ``os.replace`` is atomic) and the rename happens only after everything was
written and flushed. On any exception the temporary file is deleted and nothing is renamed.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on a clean exit it replaces ``path``, on an error it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_name = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.part"
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would make it private to the user).
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # the data must be on disk before the name points at it
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
