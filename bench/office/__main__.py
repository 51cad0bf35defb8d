"""`python -m bench.office PATH…`: office and web files to markdown, Quarry against markitdown.

Every file under the paths that has a reference `<file>.md` beside it is converted by
both tools in this process. Per format: fidelity (the mean of token F1 and order
similarity, `bench.markdown.score`), its two parts, and seconds per file. `--files`
also prints each file's fidelity. Without a PATH, `../shared/corpora/office` is used.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.markdown.score import safe_convert, similarity, token_f1

Converter = Callable[[Path], str]
DEFAULT_PATHS = ["../shared/corpora/office"]


def quarry(path: Path) -> str:
    from worker.pipeline.convert import ConversionRequest, convert_document
    from worker.pipeline.markdown import render_markdown

    request = ConversionRequest(data=path.read_bytes(), file_name=path.name, content_type=None)
    return render_markdown(convert_document(request))


def markitdown(path: Path) -> str:
    from markitdown import MarkItDown

    return str(MarkItDown().convert(str(path)).text_content)


TOOLS: dict[str, Converter] = {"quarry": quarry, "markitdown": markitdown}


@dataclass(frozen=True)
class Score:
    f1: float
    order: float
    seconds: float

    @property
    def fidelity(self) -> float:
        return (self.f1 + self.order) / 2


def score(convert: Converter, path: Path, reference: str) -> Score:
    started = time.perf_counter()
    produced = safe_convert(convert, path)
    seconds = time.perf_counter() - started
    return Score(token_f1(produced, reference), similarity(produced, reference), seconds)


def files_with_reference(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        root = Path(name)
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        found += [p for p in candidates if p.is_file() and p.suffix != ".md"
                  and p.with_name(p.name + ".md").is_file()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.office")
    parser.add_argument("paths", nargs="*", help="files or folders (default: %(default)s)")
    parser.add_argument("--files", action="store_true", help="print each file's fidelity too")
    args = parser.parse_args()
    files = files_with_reference(args.paths or DEFAULT_PATHS)
    for convert in TOOLS.values():  # warm imports outside the timings
        for path in files[:1]:
            safe_convert(convert, path)
    by_format: dict[str, dict[str, list[Score]]] = defaultdict(lambda: defaultdict(list))
    for path in files:
        reference = path.with_name(path.name + ".md").read_text()
        scores = {name: score(convert, path, reference) for name, convert in TOOLS.items()}
        for name, result in scores.items():
            by_format[path.suffix.lstrip(".").lower()][name].append(result)
        if args.files:
            cells = "  ".join(f"{name} {s.fidelity:.3f}" for name, s in scores.items())
            print(f"{path.name:50} {cells}")
    header = ["format", "files"]
    header += [f"{name} {part}" for name in TOOLS for part in ("fidelity", "F1", "order", "s/file")]
    rows = [[fmt, str(len(next(iter(tools.values()))))] + [cell for name in TOOLS
            for cell in _summary(tools[name])] for fmt, tools in sorted(by_format.items())]
    _print_table(header, rows)


def _summary(scores: list[Score]) -> list[str]:
    return [f"{statistics.mean(s.fidelity for s in scores):.3f}",
            f"{statistics.mean(s.f1 for s in scores):.3f}",
            f"{statistics.mean(s.order for s in scores):.3f}",
            f"{statistics.mean(s.seconds for s in scores):.4f}"]


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
