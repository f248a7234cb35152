"""Atomic file writes: a crash mid-save leaves the previous file intact.

The bytes go to a temporary sibling of the target, are flushed to disk (fsync), and only then
renamed over the target; the rename itself is made durable by an fsync of the directory.
"""
from __future__ import annotations

import os
import secrets
from typing import BinaryIO, Callable


def write_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary sibling of ``path``, fsync it, rename it onto ``path``.

    The temporary file is created with the usual permissions (0o666 less the umask), so the
    file ends up with the same mode a plain ``open(path, "wb")`` would give it. On any error
    (or an interrupt) the temporary file is removed and ``path`` is left as it was.
    """
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX).

    Best effort: Windows cannot open a directory, and some network file systems refuse to
    fsync one; by then the file is complete and in place, so neither is an error.
    """
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
