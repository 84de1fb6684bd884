"""A status line at the top of every widget: failures in red, progress, what was done.

A failure in a button's callback otherwise lands only in JupyterLab's log
console, and the widget keeps saying whatever it said before. Each widget
puts a :class:`StatusLine` first in its box (``position: sticky``, so it
stays in view while the widget is scrolled) and runs its actions through
:meth:`StatusLine.guard`, which shows the error instead of raising it.

:class:`BuildProgress` says what a slow constructor is doing ("step 2 of 4:
the TAA curve") in the cell's output while the widget is being built, then
disappears.
"""

from __future__ import annotations

import html
import time
from contextlib import contextmanager

__all__ = ["StatusLine", "BuildProgress", "error_text"]

ERROR_COLOUR = "#b00020"
DONE_COLOUR = "#1b5e20"
BUSY_COLOUR = "#555"
_CSS = (
    "<style>.lk-widget-status{position:sticky;top:0;z-index:5;"
    "background:var(--jp-layout-color0,#fff);min-height:1.4em}</style>"
)


def error_text(exc: BaseException) -> str:
    """A one-line message for a failure: the error's own words, its kind when they are empty.

    Examples
    --------
    >>> error_text(FileNotFoundError(2, "No such file or directory", "/no/x.toml"))
    "No such file or directory: '/no/x.toml'"
    >>> error_text(KeyError())
    'KeyError'
    """
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename!r}" if exc.filename else "")
    return text.splitlines()[0] if text else type(exc).__name__


class StatusLine:
    """One line of status: :meth:`error` (red), :meth:`busy`, :meth:`done` (green).

    Attributes
    ----------
    widget : ipywidgets.HTML
        Classes ``lk-widget-status`` and, while showing a failure, ``lk-error``.
    text : str
        The message shown, as plain text.
    kind : str
        ``"error"``, ``"busy"``, ``"done"`` or ``""``.

    Examples
    --------
    >>> s = StatusLine()
    >>> with s.guard("export"):
    ...     raise ValueError("no folder /x")
    >>> s.kind, s.text
    ('error', 'export failed: no folder /x')
    """

    def __init__(self):
        import ipywidgets as W

        self.widget = W.HTML(_CSS)
        self.widget.add_class("lk-widget-status")
        self.text = ""
        self.kind = ""

    def _show(self, kind: str, text: str, colour: str) -> None:
        self.kind, self.text = kind, text
        if kind == "error":
            self.widget.add_class("lk-error")
        else:
            self.widget.remove_class("lk-error")
        self.widget.value = (
            f"{_CSS}<span class='lk-status-{kind}' style='color:{colour}'>"
            f"{'&#9888; ' if kind == 'error' else ''}{html.escape(text)}</span>"
        )

    def error(self, text: str) -> None:
        """Show a failure (red)."""
        self._show("error", text, ERROR_COLOUR)

    def busy(self, text: str) -> None:
        """Show what is running."""
        self._show("busy", text, BUSY_COLOUR)

    def done(self, text: str) -> None:
        """Show what was done (green)."""
        self._show("done", text, DONE_COLOUR)

    def clear(self) -> None:
        self.kind = self.text = ""
        self.widget.remove_class("lk-error")
        self.widget.value = _CSS

    @contextmanager
    def guard(self, what: str):
        """Run the block; on any exception show ``"<what> failed: <message>"`` instead.

        The widget stays usable: a failed export or redraw leaves the last good
        figures on screen and says, in red, what went wrong.
        """
        try:
            yield self
        except Exception as exc:  # noqa: BLE001 - a callback's failure is shown, not lost
            self.error(f"{what} failed: {error_text(exc)}")


class BuildProgress:
    """Steps of a slow widget build, shown in the running cell's output, then removed.

    Outside a notebook (no IPython display) it only keeps the timings.

    Examples
    --------
    >>> p = BuildProgress("RuleTuner", 2)
    >>> p.step("the TAA curve"); p.step("the first dry run"); p.close()
    >>> [name for name, _ in p.timings]
    ['the TAA curve', 'the first dry run']
    """

    def __init__(self, what: str, n_steps: int):
        self.what = what
        self.n_steps = int(n_steps)
        self.timings: list[tuple[str, float]] = []
        self._i = 0
        self._t = time.perf_counter()
        self._name = None
        self._handle = None
        try:
            from IPython import get_ipython

            if get_ipython() is not None and hasattr(get_ipython(), "kernel"):
                from IPython.display import HTML, display

                self._handle = display(HTML(self._html("starting")), display_id=True)
        except ImportError:  # plain Python: nothing to show
            self._handle = None

    def _html(self, text: str) -> str:
        return (
            f"<div class='lk-build-progress' style='color:{BUSY_COLOUR}'>"
            f"building {html.escape(self.what)}: {html.escape(text)}</div>"
        )

    def _lap(self) -> None:
        now = time.perf_counter()
        if self._name is not None:
            self.timings.append((self._name, now - self._t))
        self._t = now

    def step(self, name: str) -> None:
        """Start step ``name`` (the previous one is done)."""
        self._lap()
        self._i += 1
        self._name = name
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._html(f"step {self._i} of {self.n_steps}: {name}")))

    def close(self) -> None:
        """The build is done: remove the progress line."""
        self._lap()
        self._name = None
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(""))
            self._handle = None
