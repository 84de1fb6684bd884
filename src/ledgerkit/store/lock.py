"""One writer per ledger store: an exclusive OS file lock on ``STORE/_writer.lock``."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from pathlib import Path

from ledgerkit.errors import LedgerError

LOCK_FILE = "_writer.lock"


class WriterLock:
    """One writer per store: an exclusive ``flock`` on ``STORE/_writer.lock``.

    The kernel drops the lock when its process dies, so a killed writer never
    leaves the store locked. The file names the holder (pid, operation, since).
    """

    def __init__(self, folder: Path, operation: str, wait_s: float):
        self.path = Path(folder) / LOCK_FILE
        self.operation = operation
        self.wait_s = wait_s
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # no flock here: Delta's commit check alone guards writers
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only or vanished store folder: say so, write nothing
            raise LedgerError(
                f"{self.path.parent}: cannot take the writer lock ({exc.strerror or exc}); "
                f"nothing of this {self.operation} was written"
            ) from exc
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise LedgerError(
                        f"{self.path.parent}: another writer ({holder or 'unknown'}) is "
                        f"changing the store; nothing of this {self.operation} was written. "
                        "Retry when it has finished."
                    ) from None
                time.sleep(0.05)
        self.fd = fd
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with contextlib.suppress(OSError):  # the holder's name is a courtesy (disk may be full)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, {self.operation}, since {since}".encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            import fcntl

            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
