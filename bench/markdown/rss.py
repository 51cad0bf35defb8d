"""Peak resident memory of converting a long PDF with one tool, in a fresh process.

`python -m bench.markdown.rss quarry long.pdf` prints the peak RSS in MiB (last line). The
PDF is made by the caller: building it here would count PyMuPDF's writer in the peak.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pymupdf

PARAGRAPH = ("Quarry converts business documents into markdown and structured data. Each page is "
             "read once and every word keeps its position on the page. ")


def long_pdf(pages: int) -> bytes:
    """A text PDF: a heading and ~30 lines of body text per page."""
    document = pymupdf.open()
    for number in range(1, pages + 1):
        page = document.new_page()
        page.insert_text((72, 72), f"Chapter {number}", fontsize=16)
        page.insert_textbox(pymupdf.Rect(72, 100, 523, 780), PARAGRAPH * 14, fontsize=10)
    data: bytes = document.tobytes(garbage=3, deflate=True)
    return data


def main() -> None:
    from bench.markdown.__main__ import TOOLS

    tool, path = sys.argv[1], Path(sys.argv[2])
    TOOLS[tool](path)
    print(f"{peak_rss_kib() / 1024:.0f}")


def peak_rss_kib() -> int:
    """This process's high-water RSS. Not `ru_maxrss`: Linux carries it over from the parent
    across fork and exec, so a child of a big benchmark process would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main()
