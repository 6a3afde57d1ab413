"""SHA-256 of a file or of a part of it, read in blocks so that memory stays flat.

The data manifest pins each source by its whole file's hash; the batch scorer fingerprints an input
by the hashes of its first and last MiB (cheap on a multi-GB export) to tell whether a resumed run
reads the same file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def file_sha256(path: str | Path, start: int = 0, size: int | None = None) -> str:
    """Hex SHA-256 of ``size`` bytes of ``path`` from byte ``start`` (to the end when None)."""
    digest = hashlib.sha256()
    left = size
    with Path(path).open("rb") as handle:
        handle.seek(start)
        while left is None or left > 0:
            block = handle.read(BLOCK if left is None else min(BLOCK, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest.hexdigest()
