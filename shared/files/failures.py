"""The one place where a failure while reading a file becomes the client's 400 or 413.

Parsers and native libraries (MuPDF, lxml, Pillow, zipfile, …) fail on damaged or
hostile files in many ways. Whatever they raise on a file that passed the type
checks, the API's checks and the worker's conversion both turn it into the same
documented error through `reading(kind)`: the format's "Corrupted or invalid …"
400, or a 413 when the file needs more memory or time than a job is allowed.
"""

from __future__ import annotations

import gc
import logging
from types import TracebackType

import pymupdf
from celery.exceptions import SoftTimeLimitExceeded

from shared.errors import InvalidFile, PayloadTooLarge, QuarryError
from shared.files.kinds import BY_NAME, IMAGE_KINDS

log = logging.getLogger(__name__)

CORRUPTED_PDF = "Corrupted or invalid PDF file structure."
CORRUPTED_IMAGE = "Corrupted or invalid image file."


class OutOfMemory(PayloadTooLarge):
    """The file needs more memory than a job may use (`job_max_memory_mb`)."""

    code = "memory_limit"
    default_detail = "The document needs more memory than allowed."


class OutOfTime(PayloadTooLarge):
    """The file needs more time than a job may use (`job_soft_time_limit_s`)."""

    code = "processing_timeout"
    default_detail = "The document needs more time than allowed."


def corrupted_message(kind: str) -> str:
    """The documented 400 detail for a file of `kind` that its parser cannot read."""
    if kind == "pdf":
        return CORRUPTED_PDF
    if kind in IMAGE_KINDS:
        return CORRUPTED_IMAGE
    label = BY_NAME[kind].label if kind in BY_NAME else kind.upper()
    return f"Corrupted or invalid {label} file."


def worker_lost() -> OutOfMemory:
    """For a job whose worker process died on every attempt (killed at the hard time
    limit, by the kernel for memory, or by a native crash): the file is the likely cause."""
    return OutOfMemory("The document needs more memory or time than allowed.")


def file_error(exc: BaseException, kind: str) -> QuarryError:
    """What the client is told when reading a file of `kind` raised `exc`."""
    if isinstance(exc, QuarryError):
        return exc
    if isinstance(exc, SoftTimeLimitExceeded):
        return OutOfTime()
    if _is_out_of_memory(exc):
        return OutOfMemory()
    return InvalidFile(corrupted_message(kind))


def is_damage(exc: BaseException) -> bool:
    """Whether `exc` is a parser failing on damaged or unknown content, which a converter may
    skip (a page, a shape), rather than a limit or a service error that ends the job."""
    return not isinstance(exc, QuarryError | SoftTimeLimitExceeded) and not _is_out_of_memory(exc)


def reading(kind: str) -> _Reading:
    """Map anything raised inside to `file_error`; the original stays in the log and as cause."""
    return _Reading(kind)


class _Reading:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> None:
        return None

    def __exit__(self, _: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not isinstance(exc, Exception):
            return
        error = file_error(exc, self.kind)
        if error is exc:
            return
        if isinstance(error, OutOfMemory):
            # The traceback's frames hold what filled the memory: let it go before
            # anything else (logging, recording the failure) needs memory again.
            del traceback
            exc.__traceback__ = None
            gc.collect()
        log.warning("reading a %s file failed: %s: %s", self.kind, type(exc).__name__, exc)
        raise error from exc


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError | pymupdf.mupdf.FzErrorLimit):
        return True
    # MuPDF reports a failed allocation as a system error, not a type of its own.
    return isinstance(exc, pymupdf.mupdf.FzErrorSystem) and "malloc" in str(exc)
