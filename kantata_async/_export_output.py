"""Where an export's rows go: a file it opens, or a text file object it was given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

__all__ = ["Output"]


class Output:
    """The export's output: each `write` takes one whole row."""

    def __init__(self, out: str | os.PathLike[str] | TextIO) -> None:
        self._out = out
        self.target = Path(out) if isinstance(out, str | os.PathLike) else None
        """The path to write, None for a file object."""
        self._file: TextIO | None = None

    def open(self) -> None:
        """Open the file (a file object is used as it is)."""
        if isinstance(self._out, str | os.PathLike):
            # Lone surrogates (legal in JSON strings) come out as `\udXXX`, which is still
            # valid JSON, rather than failing the export.
            self._file = open(  # noqa: SIM115 - closed by close()
                self._out, "w", encoding="utf-8", errors="backslashreplace", newline=""
            )
        else:
            self._file = self._out

    def write(self, text: str) -> None:
        """Write `text` with a single call, so that a stop never splits a row."""
        assert self._file is not None
        self._file.write(text)

    def flush(self) -> None:
        """Hand what was written to the operating system (after every page)."""
        assert self._file is not None
        self._file.flush()

    def close(self) -> None:
        """Close a file this opened; flush a file object, which stays open."""
        if self._file is None:
            return
        if self.target is not None:
            self._file.close()
        else:
            self._file.flush()
