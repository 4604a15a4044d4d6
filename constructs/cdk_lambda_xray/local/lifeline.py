"""Child process groups that end with this process, however it ends -- ``kill -9`` included.

The local tools start long-running commands (the CDK CLI, which starts
``node``, which starts the app's ``python``; MiniStack and its workers) in a
session of their own, so that Ctrl-C reaches only the tool, which then stops
them in order. If the tool is killed outright (SIGKILL, an out-of-memory kill)
no cleanup of its own runs: the commands would keep running and their
temporary directories would stay.

``prctl(PR_SET_PDEATHSIG)`` is not enough for that: it is Linux-only, it
reaches only the direct child (``npx``), not the ``node`` and ``python`` it
starts, and it fires when the *thread* that started the child ends. So a
:class:`Lifeline` starts a tiny watcher process instead. The watcher holds the
read end of a pipe whose write end only this process holds; the kernel closes
that end when this process ends, for whatever reason, and the watcher reads
end-of-file. It then kills the whole process group it watches (SIGKILL),
waits until no member is left (at most a few seconds) and removes the
directories it was given. :meth:`Lifeline.release` tells it the caller ended
the group itself.

The watcher runs this file as a script (``python -I -S lifeline.py PGID
[DIR ...]``): standard library only, started in a few milliseconds, in a
session of its own so that no signal meant for the tool or for the group
reaches it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Lifeline", "group_alive"]

_RELEASE = b"release"
#: How long the watcher waits for the killed group to be gone before removing directories.
_GROUP_GONE_TIMEOUT = 5.0


class Lifeline:
    """Ends process group ``pgid`` and removes ``remove`` when this process dies.

    Create it right after starting the group's leader (``start_new_session``);
    call :meth:`release` once the group has been stopped the ordinary way.
    """

    def __init__(self, pgid: int, remove: Sequence[Path] = ()) -> None:
        self.pgid = pgid
        self._watcher: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(__file__).resolve()), str(pgid)]
            + [str(path) for path in remove],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def watcher_pid(self) -> int | None:
        """Process id of the watcher while it watches."""
        return self._watcher.pid if self._watcher is not None else None

    def release(self) -> None:
        """The group was stopped by the caller: the watcher exits without doing anything."""
        watcher, self._watcher = self._watcher, None
        if watcher is None:
            return
        assert watcher.stdin is not None
        with contextlib.suppress(OSError):
            watcher.stdin.write(_RELEASE)
        with contextlib.suppress(OSError):
            watcher.stdin.close()
        try:
            watcher.wait(timeout=5)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member that is still running (zombies are not)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _end_group(pgid: int) -> None:
    deadline = time.monotonic() + _GROUP_GONE_TIMEOUT
    while True:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if not group_alive(pgid) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _watch(argv: Sequence[str]) -> int:
    """The watcher: wait for end-of-file on stdin; unless released, end the group and clean up."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    pgid, paths = int(argv[0]), argv[1:]
    received = b""
    while chunk := os.read(0, 64):
        received += chunk
    if received == _RELEASE:
        return 0
    _end_group(pgid)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(_watch(sys.argv[1:]))
