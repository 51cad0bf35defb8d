"""Draw a page in a child process that is killed past a deadline, never in the caller.

MuPDF holds the GIL while it draws, and a page of a few MB can take minutes (a huge page
full of filled curves): drawn in the API process it stalls every other request there,
`/healthz` included. Here the file is checked and the page drawn by a process forked from a
forkserver that has already imported the parsers (a fresh interpreter spends ~2 s importing
PyMuPDF), with the worker's kind of heap cap (RLIMIT_DATA) and a CPU-time cap, and killed
when `timeout_s` passes: the caller only waits on a pipe, without the GIL.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from shared.errors import PayloadTooLarge, QuarryError
from shared.files.checks import inspect_file
from shared.files.limits import cap_process_memory
from shared.files.page_images import PageImage, render_page

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("forkserver")
# The forkserver imports these once; each child is a fork of it, ready to draw. `__main__`
# (the API's launcher) is left out on purpose: a child needs nothing from it.
_CONTEXT.set_forkserver_preload(["shared.files.page_render", "shared.files.page_images",
                                 "shared.files.checks"])


class PageTooComplex(PayloadTooLarge):
    """The page takes too long (or too much memory) to draw as a picture."""

    code = "page_too_complex"
    default_detail = "The page takes too long to draw."


@dataclass(frozen=True)
class RenderRequest:
    data: bytes
    file_name: str
    content_type: str | None
    number: int


@dataclass(frozen=True)
class RenderLimits:
    timeout_s: float
    memory_mb: int


@dataclass(frozen=True)
class _Refused:
    """A documented error raised in the child, rebuilt as the same class in the caller."""

    error: type[QuarryError]
    detail: str
    extra: dict[str, Any]


def render_isolated(request: RenderRequest, limits: RenderLimits) -> PageImage:
    """The `PageImage` of `request`'s page, drawn in a child; `PageTooComplex` when the child
    runs past `limits` (it is killed), the child's own documented error otherwise."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(request, limits, sender), daemon=True,
                             name="page-render")
    started = time.monotonic()
    child.start()
    sender.close()  # the child holds the only writer: its death reads as EOF here
    try:
        outcome = _wait(receiver, limits.timeout_s)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
    if outcome is None:
        log.warning("page %d not drawn within %.1fs (exit %s), refused", request.number,
                    time.monotonic() - started, child.exitcode)
        raise PageTooComplex()
    if isinstance(outcome, _Refused):
        raise outcome.error(outcome.detail, **outcome.extra)
    return outcome


def _wait(receiver: Connection, timeout_s: float) -> PageImage | _Refused | None:
    """What the child sent, or None when it sent nothing in time or died (the CPU or heap
    cap, a crash in MuPDF): either way the page is not drawn and drawing it again will not
    help."""
    if not receiver.poll(timeout_s):
        return None
    try:
        outcome: PageImage | _Refused = receiver.recv()
    except (EOFError, OSError):
        return None
    return outcome


def _child(request: RenderRequest, limits: RenderLimits, sender: Connection) -> None:
    _cap_cpu(limits.timeout_s)
    cap_process_memory(limits.memory_mb)
    outcome: PageImage | _Refused
    try:
        info = inspect_file(request.data, request.file_name, request.content_type)
        outcome = render_page(request.data, info.kind, request.number)
    except MemoryError:
        outcome = _Refused(PageTooComplex, "The page needs too much memory to draw.", {})
    except QuarryError as exc:
        outcome = _Refused(type(exc), exc.detail, dict(exc.extra))  # `code=` variants included
    except Exception:  # as the API answers the unforeseen: 500, logged here, never shown
        log.exception("drawing page %d failed", request.number)
        outcome = _Refused(QuarryError, QuarryError.default_detail, {})
    sender.send(outcome)
    sender.close()


def _cap_cpu(timeout_s: float) -> None:
    """A second line behind the wall-clock kill: the kernel stops a child that spins on."""
    seconds = math.ceil(timeout_s) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        seconds = min(seconds, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, hard))
