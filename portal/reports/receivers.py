"""Which processes on this machine are receiving uploads, and which have died doing it.

An upload's rows are written before its report exists (``portal.reports.attachments``), and on
SQLite they are committed as they come. When the process receiving them dies, however it dies
(SIGKILL, a crash, the power), what it wrote must go, but only that: another process may be
receiving an upload at the same moment, and a CLI command may start beside a running server.

So each process that receives an upload holds an exclusive ``flock`` on a file of its own, named
after it, in the instance folder, for as long as it lives. The kernel drops the lock with the
process, so a process that can take the lock knows its owner is gone. A name with no file here
belongs to another machine sharing the database (or the file was removed): this module cannot
judge it, and the time-based sweep in ``portal.reports.attachments`` deals with it.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

_NAME = re.compile(r"[0-9a-f]{16}")


class Receivers:
    """This process's name as a receiver, and a way to tell which other receivers are dead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._name: str | None = None
        self._pid = 0
        self._fd: int | None = None
        self._lock = threading.Lock()

    def mine(self) -> str:
        """This process's name, its lock file taken the first time it is asked (again after a
        fork: a child must not pass for its parent)."""
        with self._lock:
            if self._name is None or self._pid != os.getpid():
                if self._fd is not None:  # the parent's, inherited: not this process's to hold
                    os.close(self._fd)
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                name = secrets.token_hex(8)
                fd = os.open(self.folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._name, self._pid, self._fd = name, os.getpid(), fd
            return self._name

    def __del__(self) -> None:
        # An app that is dropped (tests make many) stops receiving; a process's last one goes with
        # the process anyway.
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)

    def dead(self, names: Iterable[str]) -> list[str]:
        """Those of `names`, and of the receivers that left a lock file here, whose process is no
        longer alive."""
        listed = {path.stem for path in self.folder.glob("*.lock")} if self.folder.is_dir() else set()
        return sorted(name for name in {*names, *listed} if _NAME.fullmatch(name) and self._is_dead(name))

    def forget(self, name: str) -> None:
        """A dead receiver's rows are gone: its lock file can go too."""
        if _NAME.fullmatch(name):
            (self.folder / f"{name}.lock").unlink(missing_ok=True)

    def _is_dead(self, name: str) -> bool:
        try:
            fd = os.open(self.folder / f"{name}.lock", os.O_RDWR)
        except FileNotFoundError:
            return False  # another machine's, or unknown: not for this module to judge
        try:
            # A second open file, even in the process that holds the lock, cannot take it.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True
