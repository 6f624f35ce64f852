"""Where an export's rows go, and what happens to them when it does not finish.

A path is never written in place: the rows go to a temporary file beside it, which replaces
the target (`os.replace`, atomic within a directory) only once the export is complete. An
export that fails, is cancelled or is interrupted leaves the target as it was (the previous
export, say) and its rows in `<target>.partial`, where the summary names them.

Two kinds of output are written as they are, with nothing to replace: a text file object the
caller gave (stdout), and a path that exists but is not a regular file (`/dev/null`, a FIFO,
a terminal), which an `os.replace` would swap for a plain file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import TextIO

__all__ = ["PARTIAL_SUFFIX", "Output", "output_problem"]

PARTIAL_SUFFIX = ".partial"
"""Appended to the target's name for the rows of an export that did not finish."""


class Output:
    """The export's output: `open`, `write` whole rows, then `commit` or `abandon`."""

    def __init__(self, out: str | os.PathLike[str] | TextIO) -> None:
        self._out = out
        self.target = Path(out) if isinstance(out, str | os.PathLike) else None
        """The path to write, None for a file object."""
        self.partial: Path | None = None
        """After `abandon`: where the rows written are, when not in the target itself."""
        self.problem: str | None = None
        """After `abandon`: why the rows written may not all have reached the disk."""
        self._file: TextIO | None = None
        self._real: Path | None = None  # the file the target names (through links)
        self._temp: Path | None = None  # the temporary file beside it, while it exists

    def open(self) -> None:
        """Create the temporary file (or open a non-regular file; take a file object)."""
        if self.target is None:
            assert not isinstance(self._out, str | os.PathLike)
            self._file = self._out
            return
        # Through a symbolic link to the file it names, as writing to the link would.
        real = Path(os.path.realpath(self.target))
        try:
            mode: int | None = os.stat(real).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            self._file = _text(os.open(real, os.O_WRONLY | os.O_TRUNC))
            return
        if mode is not None and not os.access(real, os.W_OK):
            # Replacing needs only the directory's permission; a file its owner made
            # read-only is refused as `open(target, "w")` would refuse it.
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self.target))
        fd, temp = _create_beside(self.target, real)
        self._real, self._temp = real, temp
        if mode is not None:
            # The new file keeps the old one's permissions (a 0640 export stays 0640).
            with contextlib.suppress(OSError):  # only the owner (or root) may
                os.chmod(temp, stat.S_IMODE(mode))
        self._file = _text(fd)

    def write(self, text: str) -> None:
        """Write `text` with a single call, so that a stop never splits a row."""
        assert self._file is not None
        self._file.write(text)

    def flush(self) -> None:
        """Hand what was written to the operating system (after every page)."""
        assert self._file is not None
        self._file.flush()

    def commit(self) -> None:
        """The export is complete: close the file and put it in the target's place.

        Raises `OSError` when that fails; the rows are then still there for `abandon`.
        """
        if self._file is None:
            return
        if self.target is None:
            self._file.flush()  # the caller's stream stays open
            return
        self._file.close()
        if self._temp is not None and self._real is not None:
            os.replace(self._temp, self._real)
            self._temp = None

    def abandon(self) -> None:
        """The export stopped: close, keep the rows written in `partial`; never raises.

        Called on the way out of a failure or a cancellation, where a second error would
        hide the first; a failure here is noted in `problem` instead.
        """
        file, self._file = self._file, None
        if file is not None:
            try:
                if self.target is None:
                    file.flush()
                else:
                    file.close()
            except OSError as err:
                self.problem = f"the last rows may not have been written: {err}"
        temp, self._temp = self._temp, None
        if temp is None or self._real is None:
            return
        partial = self._real.with_name(self._real.name + PARTIAL_SUFFIX)
        try:
            os.replace(temp, partial)
        except OSError:
            partial = temp  # the rows stay where they were written
        self.partial = partial


def output_problem(path: str | os.PathLike[str]) -> str | None:
    """Why an export could not write to `path`, or None when it looks writable.

    For a check before any request (the command line's `--out`); the export itself finds
    the same problems when it opens the file, after the request for page 1 is out.
    """
    target = Path(path)
    real = Path(os.path.realpath(target))
    if real.is_dir():
        return f"{target} is a directory"
    parent = real.parent
    if not parent.exists():
        return f"the directory {target.parent} does not exist"
    if not parent.is_dir():
        return f"{target.parent} is not a directory"
    if real.is_file() and not os.access(real, os.W_OK):
        return f"{target} is read-only"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create files in {target.parent} (permission denied)"
    return None


def _text(fd: int) -> TextIO:
    # Lone surrogates (legal in JSON strings) come out as `\udXXX`, which is still valid
    # JSON, rather than failing the export. No newline translation: rows carry their own.
    return open(fd, "w", encoding="utf-8", errors="backslashreplace", newline="")


def _create_beside(target: Path, real: Path) -> tuple[int, Path]:
    """A new file next to `real` (same directory, so `os.replace` is atomic), opened for
    writing. Its name is new, so that two exports to one target never share it; it gets
    the default mode for new files (0666 less the umask), as `open(target, "w")` would."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = real.with_name(f"{real.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as err:
            # Name the target, not a temporary name the user never gave.
            raise OSError(err.errno, err.strerror, str(target)) from err
