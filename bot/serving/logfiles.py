"""Server log files: a size-capped rotating writer, and their retention.

``scripts/run.sh`` pipes each server's output through
``python -m bot.serving.logfiles var/rasa.log``: lines are appended to the
file (created owner-only). When it would pass ``LOG_MAX_BYTES`` or a new day
(UTC) begins, it becomes ``rasa.log.1`` (older ones shift to ``.2`` ...
``.LOG_BACKUPS``, the oldest is deleted), so no file spans more than a day.
``python -m bot records purge`` deletes rotated files last written more than
``RETENTION_DAYS`` ago (:func:`purge_logs`). Standard library only:
the writer starts instantly and never imports the assistant.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import BinaryIO

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 30  # with daily rotation, about a month
_ROTATED = re.compile(r".+\.log\.\d+$")


class RotatingWriter:
    """Appends bytes to ``path``, rotating it once it reaches ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        self.path, self.max_bytes, self.backups = Path(path), max(1024, max_bytes), max(1, backups)
        self._file: BinaryIO | None = None
        self._size = 0
        self._day = ""

    def _open(self) -> BinaryIO:
        if self._file is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)  # also when the file was left by an older, laxer start
            self._file = os.fdopen(fd, "ab", buffering=0)
            stat = os.fstat(fd)
            self._size, self._day = stat.st_size, _day(stat.st_mtime)
        return self._file

    def write(self, data: bytes, now: float | None = None) -> None:
        self._open()
        if self._size and (self._size + len(data) > self.max_bytes or _day(now) != self._day):
            self.rotate()
        self._open().write(data)
        self._size += len(data)
        self._day = _day(now)

    def rotate(self) -> None:
        self.close()
        oldest = self.path.with_name(f"{self.path.name}.{self.backups}")
        oldest.unlink(missing_ok=True)
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.path.exists():
            self.path.rename(self.path.with_name(f"{self.path.name}.1"))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._size = 0


def _day(moment: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(moment))


def pipe(source: BinaryIO, writer: RotatingWriter) -> None:
    """Copy ``source`` line by line into ``writer`` until end of file."""
    try:
        for line in iter(source.readline, b""):
            writer.write(line)
    finally:
        writer.close()


def rotated_logs(directory: Path) -> list[Path]:
    """Rotated log files (``*.log.N``) in ``directory``."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and _ROTATED.fullmatch(p.name))


def purge_logs(directory: Path, older_than_days: int, *, dry_run: bool = False, now: float | None = None) -> int:
    """Delete rotated logs last written more than ``older_than_days`` ago; returns how many."""
    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    old = [p for p in rotated_logs(directory) if p.stat().st_mtime < cutoff]
    if not dry_run:
        for p in old:
            p.unlink(missing_ok=True)
    return len(old)


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bot.serving.logfiles LOG_FILE  (reads standard input)", file=sys.stderr)
        return 2
    writer = RotatingWriter(
        Path(args[0]), _int_env("LOG_MAX_BYTES", DEFAULT_MAX_BYTES), _int_env("LOG_BACKUPS", DEFAULT_BACKUPS)
    )
    # Ctrl-C reaches the whole process group: keep reading so the server's
    # last lines arrive; the pipe ends when the server closes its output.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pipe(sys.stdin.buffer, writer)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
