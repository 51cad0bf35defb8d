"""What one sweep process does with one file: exactly what the API and a worker do.

The API's up-front check (`inspect_file`), then the worker's pipeline for a
to-markdown job (`run_pipeline`, which converts through `convert_document`), under
the worker's limits: the memory cap every pool process sets on itself, and the
job's soft time limit, raised in the process as Celery raises it.
"""

from __future__ import annotations

import logging
import re
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from celery.exceptions import SoftTimeLimitExceeded

from shared.errors import QuarryError

CONVERTED = "converted"
SOFT_TIMEOUT = "time-out (soft limit)"
HARD_TIMEOUT = "time-out (hard limit, process killed)"
MEMORY = "memory"
DIED = "process died"
CRASH = "crash (5xx)"
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Outcome:
    path: str
    label: str
    """`converted`, `<status> <code>: <detail>`, a time-out, memory, or a crash."""
    seconds: float
    peak_rss_mb: float
    rss_mb: float
    pages: int = 0
    warnings: int = 0
    """Parts left out of a converted file (damaged pages, slides), from the result's meta."""
    error: str = ""
    """For crashes: the exception and where it was raised."""


def prepare_process(memory_mb: int) -> None:
    """Once per sweep process: the worker's memory cap, and quiet libraries."""
    import pymupdf

    from shared.files.limits import cap_process_memory

    cap_process_memory(memory_mb)
    logging.disable(logging.CRITICAL)  # per-page warnings would drown the report
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    signal.signal(signal.SIGALRM, _soft_limit)


def sweep_file(path: str, soft_limit_s: float) -> Outcome:
    """Check and convert `path` as a to-markdown job with default options."""
    from shared.files.checks import inspect_file
    from shared.jobs.options import MarkdownOptions
    from worker.pipeline.run import JobInput, run_pipeline

    _reset_peak_rss()
    started = time.perf_counter()
    pages, warnings, error = 0, 0, ""
    signal.setitimer(signal.ITIMER_REAL, soft_limit_s)
    try:
        data = Path(path).read_bytes()
        inspect_file(data, Path(path).name, None)
        result = run_pipeline(JobInput(options=MarkdownOptions(), data=data,
                                       file_name=Path(path).name, content_type=None))
        label, pages = CONVERTED, result.pages
        warnings = len(result.payload["meta"].get("warnings", []))
    except QuarryError as exc:
        label = _refusal(exc)
        if exc.status_code >= 500:
            error = _where(exc)
    except SoftTimeLimitExceeded:
        label = SOFT_TIMEOUT
    except Exception as exc:
        label, error = CRASH, _where(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - started
    return Outcome(path, label, seconds, _status_mb("VmHWM"), _status_mb("VmRSS"), pages, warnings,
                   error)


def _refusal(exc: QuarryError) -> str:
    from shared.files.failures import OutOfMemory, OutOfTime

    if isinstance(exc, OutOfTime):
        return SOFT_TIMEOUT
    if isinstance(exc, OutOfMemory):
        return MEMORY
    body = exc.to_body()
    if exc.status_code >= 500:
        return CRASH
    return f"{exc.status_code} {body['code']}: {_DIGITS.sub('N', str(body['detail']))}"


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    cause = f" (from {type(exc.__cause__).__name__}: {exc.__cause__})" if exc.__cause__ else ""
    return f"{type(exc).__name__}: {str(exc)[:200]}{place}{cause}"


def _soft_limit(signum: int, frame: FrameType | None) -> None:
    raise SoftTimeLimitExceeded()


def _reset_peak_rss() -> None:
    try:  # Linux: writing 5 resets VmHWM, so each file's peak is its own
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
