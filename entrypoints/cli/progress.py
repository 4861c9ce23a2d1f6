"""A terminal progress bar for optimisations: done/total, best so far, ETA."""

from __future__ import annotations

from typing import Any

from cleo.io.io import IO
from cleo.ui.progress_bar import ProgressBar


class OptimizationProgressBar:
    """Callable as the optimiser's progress callback; draws on standard error."""

    def __init__(self, io: IO) -> None:
        self._io = io
        self._bar = ProgressBar(io.error_output, max=0)
        self._bar.set_format(" %current%/%max% [%bar%] %percent:3s%% %message%")
        self._bar.set_message("")  # the first frame is drawn before any progress: no literal placeholder
        self._started = False

    def __call__(self, progress: Any) -> None:
        if not self._started:
            self._bar.start(max=progress.total)
            self._started = True
        best = "" if progress.best_value is None else f"best {progress.best_value:.4f} {dict(progress.best_params)}"
        eta = "" if progress.eta_s is None else f" eta {progress.eta_s:.1f}s"
        self._bar.set_message(best + eta)
        self._bar.set_progress(progress.done)

    def finish(self) -> None:
        if self._started:
            self._bar.finish()
            self._io.write_error_line("")

    def interrupt(self) -> None:
        """End the bar's line so that what follows starts on a line of its own."""
        if self._started:
            self._bar.display()
            self._io.write_error_line("")
