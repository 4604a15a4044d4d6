"""Numbered steps with timing: ``[ n] title ...`` then ``ok (1.2 s)  detail`` or ``FAILED``.

The step runner (``demo``, ``local deploy``) prints its progress through
:class:`Progress`; a step that runs long prints a heartbeat line so the user
sees it is alive.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Progress", "StepFailed", "StepRecord", "indent", "one_line"]


@dataclass
class StepRecord:
    """One step: its title, outcome, time taken and a short detail."""

    title: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""


class StepFailed(Exception):
    """A step failed; its message is the detail shown."""


class Progress:
    """Prints ``[n] title ...`` when a step starts and a result line with timing when it ends."""

    def __init__(self, out: TextIO, *, heartbeat: float = 10.0) -> None:
        self.out = out
        self.records: list[StepRecord] = []
        self.heartbeat = heartbeat
        self.started = time.monotonic()

    def print(self, text: str = "") -> None:
        """Write a line and flush (progress must show while a step runs)."""
        print(text, file=self.out, flush=True)

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[StepRecord]:
        """Run one step; an exception marks it failed and propagates."""
        record = StepRecord(title)
        self.records.append(record)
        number = len(self.records)
        self.print(f"[{number:>2}] {title} ...")
        done = threading.Event()
        began = time.monotonic()

        def tick() -> None:
            while not done.wait(self.heartbeat):
                self.print(f"     ... {title}: {time.monotonic() - began:.0f} s")

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield record
            record.ok = True
        except BaseException as exc:
            record.ok = False
            record.detail = record.detail or one_line(exc)
            raise
        finally:
            done.set()
            ticker.join()
            record.seconds = time.monotonic() - began
            mark = "ok" if record.ok else "FAILED"
            detail = f"  {record.detail}" if record.detail else ""
            self.print(f"     {mark} ({record.seconds:.1f} s){detail}")

    @property
    def failed(self) -> list[StepRecord]:
        """The steps that failed."""
        return [r for r in self.records if not r.ok]

    def summary(self, verdict: str) -> None:
        """Every step with its time, then ``verdict``."""
        self.print()
        for number, record in enumerate(self.records, 1):
            mark = "ok    " if record.ok else "FAILED"
            self.print(f"  {mark} {record.seconds:6.1f} s  [{number:>2}] {record.title}")
        self.print(verdict)


def one_line(exc: BaseException) -> str:
    """The exception as one line (its type too, unless it is a :class:`StepFailed`)."""
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {text}"


def indent(text: str) -> str:
    """``text`` indented under a step's result line."""
    return "\n".join(f"       {line}" for line in text.splitlines())
