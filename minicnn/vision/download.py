"""Fetch data files from HTTP mirrors, each checked against a known SHA-256 before it is kept.

Every file streams into a temporary file next to its destination while being hashed; only
a file whose digest matches is renamed into place (see :mod:`minicnn.vision.atomic`), so a
half-finished or tampered download never looks like data. Mirrors are tried in order with a
short timeout; a mirror whose host cannot be reached at all is not asked again for the next
files, so a machine without network falls through in well under a second.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

from .atomic import atomic_write

USER_AGENT = "minicnn-dataset-fetcher"  # some mirrors refuse urllib's default agent
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """No mirror delivered a file with the expected checksum."""


class ChecksumError(DownloadError):
    """A download (or a packaged file) whose SHA-256 is not the expected one."""


def sha256_of_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_mismatch(what: str, expected: str, got: str) -> ChecksumError:
    return ChecksumError(f"{what}: SHA-256 mismatch: expected {expected}, got {got}")


def download_verified(url: str, destination: str | os.PathLike, sha256: str, timeout: float = 5.0) -> None:
    """Download ``url`` to ``destination`` if and only if its SHA-256 is ``sha256``.

    Raises ChecksumError (the temporary file already deleted) on a digest mismatch, and
    urllib's errors (OSError subclasses) when the mirror cannot be reached or refuses.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_write(destination) as file:
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            file.write(chunk)
        if digest.hexdigest() != sha256:  # raising inside atomic_write deletes the temporary file
            raise checksum_mismatch(url, sha256, digest.hexdigest())


def download_files(
    mirrors: Sequence[str], files: Mapping[str, str], folder: str | os.PathLike, timeout: float = 5.0
) -> None:
    """Put every ``name -> sha256`` of ``files`` into ``folder``, from the first mirror that serves it.

    ``mirrors`` are URL prefixes ending in '/'. Files already present with the right digest
    are kept. Raises DownloadError listing what every mirror answered when one file could
    not be fetched from any of them.
    """
    folder = Path(folder)
    unreachable: dict[str, str] = {}  # mirror -> why; such a host is not retried for later files
    for name, sha256 in files.items():
        target = folder / name
        if target.exists() and sha256_of_file(target) == sha256:
            continue
        failures = [f"{mirror}: skipped, unreachable earlier ({why})" for mirror, why in unreachable.items()]
        for mirror in mirrors:
            if mirror in unreachable:
                continue
            url = mirror + name
            try:
                download_verified(url, target, sha256, timeout)
                break
            except ChecksumError as err:
                failures.append(str(err))
            except urllib.error.HTTPError as err:  # the host answered: it may still serve other files
                failures.append(f"{url}: HTTP {err.code} {err.reason}")
            except (OSError, http.client.HTTPException) as err:  # DNS, refused, timeout, cut off
                unreachable[mirror] = f"{type(err).__name__}: {err}"
                failures.append(f"{url}: {unreachable[mirror]}")
        else:
            raise DownloadError(f"could not download {name} from any mirror:\n  " + "\n  ".join(failures))
