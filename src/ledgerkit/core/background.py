"""Work that waits on I/O, started in a thread while the caller does something else.

For calls that spend their time outside the GIL (zlib's CRC of a mapped file, Arrow
reading Parquet): on the machines measured (2 cores), a fresh process's first
``from_parquet`` + ``classify`` spent about 0.1 s checksumming the tables and 0.1 s
reading the encounter ids, each while the other core was idle.
"""

from __future__ import annotations

import threading

__all__ = ["Background"]


class Background:
    """``fn(*args)`` running in a thread; :meth:`result` waits for it.

    The caller's own work goes on meanwhile; an exception raised by ``fn`` is raised
    again by :meth:`result`, in the caller's thread. The thread is not a daemon: when
    the caller fails before asking for the result, the interpreter waits for the
    thread at exit instead of stopping it inside Arrow or zlib, which aborts the
    process (see ``core/shipped.py``).

    Examples
    --------
    >>> job = Background(sum, [1, 2, 3])
    >>> job.result()
    6
    >>> Background(int, "x").result()
    Traceback (most recent call last):
    ...
    ValueError: invalid literal for int() with base 10: 'x'
    """

    def __init__(self, fn, *args):
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=False)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc

    def result(self):
        """What ``fn`` returned (waiting for it), or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
