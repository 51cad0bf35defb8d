"""Scanned pages go through the layout model only when their rows leave the reading order in doubt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pymupdf
import pytest

from tests.fixtures.documents import make
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.markdown import render_markdown


def _scan(draw: Callable[[pymupdf.Page], None]) -> bytes:
    with pymupdf.open() as pdf:
        draw(pdf.new_page())
        png: bytes = pdf[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).tobytes("png")
    return png


def _converted(monkeypatch: pytest.MonkeyPatch, scan: bytes) -> tuple[str, int]:
    """The scan's markdown and how many times the layout model ran on it."""
    calls = []
    original = pymupdf.Page.get_layout

    def counted(page: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(page, *args, **kwargs)

    monkeypatch.setattr(pymupdf.Page, "get_layout", counted)
    document = convert_document(ConversionRequest(scan, "scan.png", None))
    return render_markdown(document), len(calls)


def test_scanned_columns_read_column_by_column(monkeypatch: pytest.MonkeyPatch) -> None:
    left = [f"Left column sentence {n} continues here." for n in range(8)]
    right = [f"Right column sentence {n} continues here." for n in range(8)]

    def draw(page: pymupdf.Page) -> None:
        for n in range(8):
            page.insert_text((50, 100 + n * 16), left[n], fontsize=11)
            page.insert_text((320, 100 + n * 16), right[n], fontsize=11)

    text, runs = _converted(monkeypatch, _scan(draw))
    assert runs == 1
    positions = [text.index(f"sentence {n} continues") for n in range(8)]
    assert positions == sorted(positions)  # the left column, whole, first
    assert text.index("Left column sentence 7") < text.index("Right column sentence 0")


def test_scanned_labels_and_values_skip_the_layout_model(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [("Coffee beans 1 kg", "18.50"), ("Fresh milk", "2.40"), ("Paper filters", "3.10"),
            ("Subtotal", "24.00"), ("Tax", "1.92"), ("Total", "25.92")]

    def draw(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Corner Grocery", fontsize=16)
        for n, (label, value) in enumerate(rows):
            page.insert_text((72, 120 + n * 18), label, fontsize=11)
            page.insert_text((400, 120 + n * 18), value, fontsize=11)

    text, runs = _converted(monkeypatch, _scan(draw))
    assert runs == 0  # row order is already the reading order: no model time spent
    for label, value in rows:  # each value stays beside its label
        assert f"{label} {value}" in " ".join(text.split()), (label, text)


def test_scanned_ruled_table_still_a_table_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    with pymupdf.open(stream=make.structured_pdf(), filetype="pdf") as pdf:
        scan = pdf[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).tobytes("png")
    text, runs = _converted(monkeypatch, scan)
    assert runs == 0
    assert "| Region | Sales |" in text and "| North | 100 |" in text
