"""One run at a time per output.

Two ``nabiz score`` runs into the same output shared its ``.partial`` file: the second discarded
the first's partial output and began its own, the first went on appending its chunks to it, and
the file the first renamed into place held the second run's header over both runs' rows, while the
first reported every row written and the second failed on a rename. The output is therefore
locked for the whole run: a second run is refused at once, naming the first.

The lock is ``<output>.lock``, held with ``flock`` (released by the kernel when a run dies, so a
``kill -9`` leaves no stale lock) and removed at the end. A run that opened the file just before
its previous holder removed it would hold a lock nobody else sees; so after taking it, a run checks
that the path still names the file it locked, and tries again when it does not.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from nabiz.serving.writers import OutputError

LOCK_SUFFIX = ".lock"


def lock_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + LOCK_SUFFIX)


@contextmanager
def output_lock(output: str | Path) -> Iterator[None]:
    """Hold ``output`` for this process until the block ends; :class:`OutputError` when another
    run holds it."""
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputError(
                f"another run is writing {output} ({holder}); wait for it to end or choose "
                "another output"
            ) from None
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {started}")
    handle.flush()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
