"""Markdown fidelity and speed on real files with a reference: `python -m bench.markdown PATH…`.

Each PATH is a file or a folder. A reference is `<file>.md` beside the file
(`report.docx` → `report.docx.md`) or `<stem>.md`. DOCX files are rendered to PDF
with LibreOffice headless (`soffice`, needed by the benchmark only, never by the
product; PDFs cached under /tmp/quarry-bench-pdfs), so the PDF converters are
measured on real PDFs whose reference is known.

Tools, side by side in one run: Quarry `default` (layout pipeline) and `fast`
(text layer only), pymupdf4llm, markitdown, and plain PyMuPDF `get_text()`.
Reported per tool: fidelity (mean of token F1 and order similarity), heading
recall (reference headings produced as headings, text normalised) and pages/s
(all pages over all conversion time, after a warm-up).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.markdown.score import safe_convert, similarity, token_f1

PDF_CACHE = Path("/tmp/quarry-bench-pdfs")
Converter = Callable[[Path], str]
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$", re.M)


def quarry_default(path: Path) -> str:
    return _quarry(path, "auto")


def quarry_fast(path: Path) -> str:
    return _quarry(path, "never")


def _quarry(path: Path, ocr: str) -> str:
    from worker.pipeline.convert import ConversionRequest, convert_document
    from worker.pipeline.markdown import render_markdown

    request = ConversionRequest(data=path.read_bytes(), file_name=path.name, content_type=None,
                                ocr=ocr)
    return render_markdown(convert_document(request))


def pymupdf4llm(path: Path) -> str:
    import pymupdf4llm as converter

    return str(converter.to_markdown(str(path), show_progress=False))


def markitdown(path: Path) -> str:
    from markitdown import MarkItDown

    return str(MarkItDown().convert(str(path)).text_content)


def pymupdf_text(path: Path) -> str:
    import pymupdf

    with pymupdf.open(path) as document:
        return "\n\n".join(page.get_text() for page in document)


TOOLS: dict[str, Converter] = {
    "quarry default": quarry_default, "quarry fast": quarry_fast, "pymupdf4llm": pymupdf4llm,
    "markitdown": markitdown, "pymupdf get_text": pymupdf_text,
}


def cases(paths: list[Path]) -> list[tuple[Path, str]]:
    """(PDF, reference markdown) for every file under `paths` that has a reference."""
    found: list[tuple[Path, str]] = []
    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p])]
    for file in files:
        if file.suffix.lower() not in (".pdf", ".docx"):
            continue
        reference = next((r for r in (Path(f"{file}.md"), file.with_suffix(".md")) if r.exists()),
                         None)
        if reference is None:
            continue
        pdf = file if file.suffix.lower() == ".pdf" else rendered_pdf(file)
        if pdf is not None:
            found.append((pdf, reference.read_text()))
    return found


def rendered_pdf(docx: Path) -> Path | None:
    """The DOCX rendered by LibreOffice, cached by content."""
    digest = hashlib.sha256(docx.read_bytes()).hexdigest()[:16]
    target = PDF_CACHE / f"{docx.stem}-{digest}.pdf"
    if target.exists():
        return target
    PDF_CACHE.mkdir(parents=True, exist_ok=True)
    workdir = PDF_CACHE / digest
    result = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                             str(workdir), str(docx)], capture_output=True, check=False,
                            timeout=300)
    produced = workdir / f"{docx.stem}.pdf"
    if result.returncode != 0 or not produced.exists():
        print(f"  LibreOffice could not render {docx.name}", file=sys.stderr)
        return None
    produced.rename(target)
    return target


def headings(markdown: str) -> list[str]:
    return [_normal(text) for text in _HEADING.findall(markdown) if _normal(text)]


def heading_recall(produced: str, reference: str) -> tuple[int, int]:
    """(reference headings found as headings, reference headings)."""
    wanted, got = headings(reference), set(headings(produced))
    return sum(1 for heading in wanted if heading in got), len(wanted)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[*_`#\\]", " ", text).lower().split())


def measure(convert: Converter, found: list[tuple[Path, str]]) -> dict[str, float]:
    """Mean fidelity, pooled heading recall and pages/s of one tool over the cases."""
    import pymupdf

    fidelity, hits, total_headings, pages, seconds = 0.0, 0, 0, 0, 0.0
    for pdf, reference in found:
        started = time.perf_counter()
        produced = safe_convert(convert, pdf)
        seconds += time.perf_counter() - started
        with pymupdf.open(pdf) as document:
            pages += document.page_count
        fidelity += (token_f1(produced, reference) + similarity(produced, reference)) / 2
        hit, count = heading_recall(produced, reference)
        hits, total_headings = hits + hit, total_headings + count
    return {"fidelity": fidelity / max(len(found), 1),
            "heading recall": hits / max(total_headings, 1),
            "pages/s": pages / max(seconds, 1e-9)}


def run(paths: list[Path]) -> None:
    from bench.markdown.__main__ import print_table

    found = cases(paths)
    if not found:
        sys.exit("no files with a reference markdown under the given paths")
    for convert in TOOLS.values():  # warm imports and models outside the timings
        safe_convert(convert, found[0][0])
    results = {name: measure(convert, found) for name, convert in TOOLS.items()}
    metrics = ["fidelity", "heading recall", "pages/s"]
    rows = [[name, *(f"{result[m]:.3f}" if m != "pages/s" else f"{result[m]:.1f}"
                     for m in metrics)] for name, result in results.items()]
    print_table(f"PDFs with a reference ({len(found)} files)", ["tool", *metrics], rows)
