"""Time per page, end to end on one core: conversion (OCR for scans) plus extraction.

The accuracy figures use converted documents from a cache, so they say nothing about how
long a user waits. Here a sample of files is converted afresh, as the worker converts
them, and extracted with the corpus schema, one at a time, with the process pinned to one
CPU core and the OCR engine told to use one thread (`QUARRY_OCR_THREADS=1`). The OCR model
is loaded once before timing starts (a worker loads it once per process).

Targets (issue 19): at most 1.5 s per scanned page, at most 300 ms per text page.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.extraction.corpora import load_corpus
from shared.extraction.schema import parse_schema
from shared.jobs.options import ExtractOptions
from shared.settings import get_settings
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.extract import extract_document

SCAN_TARGET_MS = 1500.0
TEXT_TARGET_MS = 300.0
_DATA = Path(__file__).parent / "data"


@dataclass
class PageTimes:
    """Milliseconds per page, split into conversion and extraction."""

    kind: str
    convert: list[float] = field(default_factory=list)
    extract: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """CPU time per page, conversion and extraction: the work itself, whatever else runs."""

    @property
    def total(self) -> list[float]:
        return [c + e for c, e in zip(self.convert, self.extract, strict=True)]

    def add(self, started: tuple[float, float], converted: float, done: tuple[float, float],
            pages: int) -> None:
        wall, cpu = started
        self.convert.append((converted - wall) * 1000 / pages)
        self.extract.append((done[0] - converted) * 1000 / pages)
        self.cpu.append((done[1] - cpu) * 1000 / pages)


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def one_core() -> str:
    """Pin this process to one CPU core and OCR to one thread; say what was done."""
    os.environ["QUARRY_OCR_THREADS"] = "1"
    get_settings.cache_clear()
    # Engines loaded earlier in this process (the accuracy run) keep their thread pools:
    # drop them so the timed run loads one-thread sessions.
    from worker.pipeline.ocr import classifier, engine

    engine.get_engine.cache_clear()
    engine._load.cache_clear()
    classifier.get_classifier.cache_clear()
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU core {core}, OCR on 1 thread"
    return "OCR on 1 thread (this platform cannot pin a process to a core)"


def scanned_pages(folders: list[Path], sample: int) -> PageTimes:
    """`sample` files spread over the corpora, converted with OCR and extracted."""
    documents = [doc for folder in folders for doc in load_corpus(folder)]
    step = max(1, len(documents) // max(sample, 1))
    chosen = documents[::step][:sample]
    times = PageTimes("scanned")
    if not chosen:
        return times
    convert_document(ConversionRequest(chosen[0].path.read_bytes(), chosen[0].path.name, None))
    for doc in chosen:
        started = _now()
        document = convert_document(ConversionRequest(doc.path.read_bytes(), doc.path.name, None))
        converted = time.perf_counter()
        extract_document(document, ExtractOptions.model_validate(
            {"schema": parse_schema(doc.schema), "allow_partial": True}))
        times.add(started, converted, _now(), max(len(document.pages), 1))
    return times


def text_pages() -> PageTimes:
    """The generated set's PDFs that have a text layer, converted (as in standard mode) and
    extracted."""
    times = PageTimes("text")
    for label in sorted(_DATA.glob("*.json")):
        entry = json.loads(label.read_text())
        data = (_DATA / entry["file"]).read_bytes()
        layer = convert_document(ConversionRequest(data, entry["file"], "application/pdf",
                                                   ocr="never"))
        if not layer.plain_text.strip():
            continue  # the image-only invoice is a scan, timed with the scans
        started = _now()
        document = convert_document(ConversionRequest(data, entry["file"], "application/pdf"))
        converted = time.perf_counter()
        extract_document(document, ExtractOptions.model_validate(
            {"schema": parse_schema(entry["schema"]), "allow_partial": True}))
        times.add(started, converted, _now(), max(len(document.pages), 1))
    return times


def report(scanned: PageTimes, text: PageTimes, how: str) -> str:
    lines = ["## Time per page, conversion included", "",
             f"One page at a time, {how}; fresh conversion (no cache). Wall time counts "
             "whatever else the machine runs; CPU time is the work itself, what one idle "
             "core would take.", "",
             "| pages | count | wall: convert | extract | total mean / max | CPU mean / max | target |",
             "|---|---|---|---|---|---|---|"]
    for times, target in ((scanned, SCAN_TARGET_MS), (text, TEXT_TARGET_MS)):
        if not times.total:
            continue
        total, cpu = times.total, times.cpu
        verdict = "met" if max(cpu) <= target else ("mean met" if _mean(cpu) <= target else "missed")
        lines.append(f"| {times.kind} | {len(total)} | {_mean(times.convert):.0f} ms | "
                     f"{_mean(times.extract):.0f} ms | {_mean(total):.0f} / {max(total):.0f} ms | "
                     f"{_mean(cpu):.0f} / {max(cpu):.0f} ms | ≤ {target:.0f} ms, CPU: {verdict} |")
    return "\n".join(lines) + "\n"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
