"""Sweep processes: each converts one file at a time and is replaced when it must be.

Like a Celery prefork pool: a process is killed at the hard time limit, replaced
when it died, and recycled once its resident memory passed the per-child limit.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from bench.sweep.convert import DIED, HARD_TIMEOUT, Outcome, prepare_process, sweep_file


@dataclass(frozen=True)
class Limits:
    soft_s: float
    hard_s: float
    memory_mb: int
    recycle_rss_mb: float


def _serve(conn: Connection, limits: Limits) -> None:
    prepare_process(limits.memory_mb)
    while (path := conn.recv()) is not None:
        outcome = sweep_file(path, limits.soft_s)
        conn.send(outcome)
        if outcome.rss_mb > limits.recycle_rss_mb:
            return


class _Slot:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.path: str | None = None
        self.deadline = 0.0
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child, self.limits),
                                                    daemon=True)
        self.process.start()
        child.close()

    def give(self, path: str) -> None:
        if not self.process.is_alive():
            self._start()
        self.path, self.deadline = path, time.monotonic() + self.limits.hard_s
        self.conn.send(path)

    def receive(self) -> Outcome:
        """The outcome of the file in hand (the process ends itself when it must recycle)."""
        try:
            outcome: Outcome = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            outcome = self._lost(f"{DIED} (exit {self.process.exitcode})")
        if outcome.rss_mb > self.limits.recycle_rss_mb:
            self.process.join(10)  # it ends itself; the next file starts a fresh one
        self.path = None
        return outcome

    def expire(self) -> Outcome:
        self.process.kill()
        self.process.join(5)
        outcome = self._lost(HARD_TIMEOUT)
        self.path = None
        return outcome

    def _lost(self, label: str) -> Outcome:
        return Outcome(str(self.path), label, self.limits.hard_s if label == HARD_TIMEOUT else 0.0,
                       0.0, 0.0)

    def close(self) -> None:
        if self.process.is_alive():
            self.conn.send(None)
            self.process.join(10)


def sweep(paths: list[str], limits: Limits, processes: int) -> Iterator[Outcome]:
    """Outcomes in the order files finish."""
    pending = list(reversed(paths))
    slots = [_Slot(limits) for _ in range(max(1, min(processes, len(paths))))]
    try:
        while pending or any(slot.path for slot in slots):
            for slot in slots:
                if slot.path is None and pending:
                    slot.give(pending.pop())
            busy = [slot for slot in slots if slot.path is not None]
            timeout = max(0.0, min(slot.deadline for slot in busy) - time.monotonic())
            ready = wait([slot.conn for slot in busy], timeout=timeout)
            for slot in busy:
                if slot.conn in ready:
                    yield slot.receive()
                elif time.monotonic() >= slot.deadline:
                    yield slot.expire()
    finally:
        for slot in slots:
            slot.close()
