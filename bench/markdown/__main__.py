"""Run the to-markdown benchmark: `python -m bench.markdown [PATH…]`.

With paths: real files with a reference markdown, see `bench.markdown.real`.
Without:

Quarry (the pipeline functions, in process), pymupdf4llm and markitdown convert
the same files in one run. Reported: similarity to the committed reference
markdown (token F1 and difflib ratio on normalised text), pages/s on a
generated text PDF, seconds per scanned page, and the peak resident memory of
converting a 500-page PDF (measured in a fresh subprocess).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.markdown.make_data import DATA
from bench.markdown.score import safe_convert, similarity, token_f1

Converter = Callable[[Path], str]
TEXT_PAGES = 200


def quarry(path: Path) -> str:
    from worker.pipeline.convert import ConversionRequest, convert_document
    from worker.pipeline.markdown import render_markdown

    request = ConversionRequest(data=path.read_bytes(), file_name=path.name, content_type=None)
    return render_markdown(convert_document(request))


def pymupdf4llm(path: Path) -> str:
    import pymupdf4llm as converter

    return str(converter.to_markdown(str(path), show_progress=False))


def markitdown(path: Path) -> str:
    from markitdown import MarkItDown

    return str(MarkItDown().convert(str(path)).text_content)


TOOLS: dict[str, Converter] = {"quarry": quarry, "pymupdf4llm": pymupdf4llm, "markitdown": markitdown}


def quality_rows() -> list[list[str]]:
    rows = []
    for reference in sorted(DATA.glob("*.md")):
        expected = reference.read_text()
        row = [reference.stem]
        for convert in TOOLS.values():
            produced = safe_convert(convert, reference.with_suffix(".pdf"))
            row.append(f"{token_f1(produced, expected):.3f} / {similarity(produced, expected):.3f}")
        rows.append(row)
    return rows


def speed_rows(workdir: Path) -> list[list[str]]:
    from bench.markdown.make_data import scanned
    from bench.markdown.rss import long_pdf

    text_pdf = workdir / "text.pdf"
    text_pdf.write_bytes(long_pdf(TEXT_PAGES))
    scanned_pdf = workdir / "scanned.pdf"
    scanned_pdf.write_bytes(_repeat_pages(scanned()[0], 3))
    text_row, scan_row = [f"text PDF, {TEXT_PAGES} pages (pages/s)"], ["scanned pages (s/page)"]
    for convert in TOOLS.values():
        elapsed, ok = _timed(convert, text_pdf)
        text_row.append(f"{TEXT_PAGES / elapsed:.0f}" if ok else "failed")
        elapsed, ok = _timed(convert, scanned_pdf)
        scan_row.append(f"{elapsed / 3:.2f}" if ok else "failed")
    return [text_row, scan_row]


def rss_row(workdir: Path) -> list[str]:
    from bench.markdown.rss import long_pdf

    path = workdir / "long.pdf"
    path.write_bytes(long_pdf(500))
    row = ["500-page PDF, peak RSS (MiB)"]
    for name in TOOLS:
        result = subprocess.run([sys.executable, "-m", "bench.markdown.rss", name, str(path)],
                                capture_output=True, text=True, check=False)
        lines = result.stdout.strip().splitlines()
        row.append(lines[-1] if result.returncode == 0 and lines else "failed")
    return row


def _timed(convert: Converter, path: Path) -> tuple[float, bool]:
    """Seconds taken, and whether the tool produced anything at all."""
    started = time.perf_counter()
    produced = safe_convert(convert, path)
    return time.perf_counter() - started, bool(produced.strip())


def _repeat_pages(pdf: bytes, times: int) -> bytes:
    import pymupdf

    source = pymupdf.open(stream=pdf, filetype="pdf")
    target = pymupdf.open()
    for _ in range(times):
        target.insert_pdf(source)
    data: bytes = target.tobytes()
    return data


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def main() -> None:
    if len(sys.argv) > 1:  # real files with a reference, side by side
        from bench.markdown.real import run

        run([Path(arg) for arg in sys.argv[1:]])
        return
    header = ["", *TOOLS]
    quarry(DATA / "report.pdf")  # warm imports and the OCR model outside the timings
    safe_convert(pymupdf4llm, DATA / "report.pdf")
    safe_convert(markitdown, DATA / "report.pdf")
    print_table("Similarity to reference markdown (token F1 / difflib ratio)",
                ["file", *TOOLS], quality_rows())
    with tempfile.TemporaryDirectory() as workdir:
        rows = [*speed_rows(Path(workdir)), rss_row(Path(workdir))]
        print_table("Speed and memory (one process)", header, rows)


if __name__ == "__main__":
    main()
