"""Seconds per scanned page and peak memory of local OCR: `python -m bench.markdown.ocr PATH…`.

Every page image under the paths (JPEG/PNG/TIFF; PDF pages rendered at `--dpi`)
is read by each engine in its own fresh process, on one core (ONNX Runtime
held to one thread), so that CPU seconds and peak RSS are that engine's alone:

- `quarry`: Quarry's local OCR as a job runs it: RapidOCR 3 (shipped PP-OCRv6
  models), the page-orientation classifier, deskew, and the OCR'd page's
  tables and column order (`convert.ocr_layout`; the layout model only where
  the rows leave the order in doubt, `convert.ocr_columns`);
- `quarry-layout-model`: the same, with the layout model offered every page (as
  text pages get it: wherever lines stand side by side), to show what it costs;
- `rapidocr3`: plain RapidOCR 3 on the same models, one pass, nothing else;
- `rapidocr-onnxruntime-1.4.4`: the engine Quarry used before, one plain pass
  (measured only where that package is installed).

`--turn 90` (or 180/270) turns every page first, to time rotated scans.
`--source-dpi 200 --dpi 150` resamples images scanned at 200 dpi to 150-dpi pages.
CPU seconds are the figure to compare on a shared machine; wall seconds are printed too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

IMAGES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
ENGINES = ("quarry", "quarry-layout-model", "rapidocr3", "rapidocr-onnxruntime-1.4.4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders of scans")
    parser.add_argument("--dpi", type=int, default=150, help="PDF rendering (and resampling) dpi")
    parser.add_argument("--source-dpi", type=int, default=0,
                        help="the scans' own dpi; with it, images are resampled to --dpi")
    parser.add_argument("--turn", type=int, default=0, choices=(0, 90, 180, 270))
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = _files(args.paths)
    if args.child:
        print(json.dumps(_measure(args.child, files, args)))
        return
    rows = [_run_child(engine, args) for engine in args.engines.split(",") if _available(engine)]
    _print(rows, args)


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        items = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [item for item in items if item.suffix.lower() in (*IMAGES, ".pdf")]
    return found


def _available(engine: str) -> bool:
    module = {"rapidocr-onnxruntime-1.4.4": "rapidocr_onnxruntime"}.get(engine, "rapidocr")
    return importlib.util.find_spec(module) is not None


def _run_child(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.markdown.ocr", *map(str, args.paths), "--child", engine,
               "--dpi", str(args.dpi), "--source-dpi", str(args.source_dpi),
               "--turn", str(args.turn), "--limit", str(args.limit)]
    env = {**_one_core_env(), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"engine": engine, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _one_core_env() -> dict[str, str]:
    import os

    return {**os.environ, "OMP_NUM_THREADS": "1", "QUARRY_OCR_THREADS": "1"}


def _pages(files: list[Path], args: argparse.Namespace) -> list[np.ndarray[Any, Any]]:
    from worker.pipeline.convert.image import decode_frames
    from worker.pipeline.ocr.orientation import rotate

    pages: list[np.ndarray[Any, Any]] = []
    for path in files:
        if path.suffix.lower() == ".pdf":
            pages += _pdf_pages(path, args.dpi)
        else:
            pages += [_resampled(image, args) for image, _ in decode_frames(path.read_bytes(),
                                                                               _kind(path))]
    pages = pages[: args.limit] if args.limit else pages
    return [rotate(page, args.turn) if args.turn else page for page in pages]


def _kind(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "jpeg", "tif": "tiff"}.get(suffix, suffix)


def _resampled(image: np.ndarray[Any, Any], args: argparse.Namespace) -> np.ndarray[Any, Any]:
    import cv2

    if not args.source_dpi or args.source_dpi == args.dpi:
        return image
    factor = args.dpi / args.source_dpi
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _pdf_pages(path: Path, dpi: int) -> list[np.ndarray[Any, Any]]:
    from shared.files.pdf import open_pdf
    from worker.pipeline.convert.pdf import render_gray

    with open_pdf(path.read_bytes()) as pdf:
        return [render_gray(pdf[index], dpi)[0] for index in range(pdf.page_count)]


def _reader(engine: str) -> Any:
    """A function reading one page image the way `engine` does; loaded before timing starts."""
    if engine in ("quarry", "quarry-layout-model"):
        from worker.pipeline.convert import ocr_layout
        from worker.pipeline.convert.ocr_layout import structure_ocr_page
        from worker.pipeline.ocr import LocalOcr

        if engine == "quarry-layout-model":
            ocr_layout.needs_layout_model = lambda page: True

        ocr = LocalOcr()

        def quarry(image: np.ndarray[Any, Any]) -> int:
            page = ocr.read(image, number=1, scale=0.5)
            structure_ocr_page(page, image, 0.5)
            return sum(len(line.text) for line in page.lines())

        return quarry
    if engine == "rapidocr3":
        from worker.pipeline.ocr.engine import recognize

        return lambda image: sum(len(line.text) for line in recognize(image))
    from rapidocr_onnxruntime import RapidOCR

    old = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def plain(image: np.ndarray[Any, Any]) -> int:
        result, _ = old(image, use_cls=False)
        return sum(len(str(item[1])) for item in (result or []))

    return plain


def _measure(engine: str, files: list[Path], args: argparse.Namespace) -> dict[str, Any]:
    from bench.markdown.rss import peak_rss_kib

    pages = _pages(files, args)
    read = _reader(engine)
    read(np.full((64, 256), 255, dtype=np.uint8))  # models loaded before the clock starts
    cpu, wall, chars = time.process_time(), time.perf_counter(), 0
    for page in pages:
        chars += read(page)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"engine": engine, "pages": len(pages), "cpu_s_per_page": cpu / max(len(pages), 1),
            "wall_s_per_page": wall / max(len(pages), 1), "chars": chars,
            "peak_rss_mib": peak_rss_kib() / 1024}


def _print(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"OCR on {', '.join(map(str, args.paths))} (turn {args.turn}°, PDFs at {args.dpi} dpi"
          + (f", images resampled {args.source_dpi}→{args.dpi} dpi" if args.source_dpi else "")
          + "), one core each")
    from worker.pipeline.ocr.engine import engine_name

    print(f"quarry, quarry-layout-model, rapidocr3 run {engine_name()} with the models its wheel ships")
    print(f"{'engine':30} {'pages':>5} {'CPU s/page':>10} {'wall s/page':>11} {'chars':>7} "
          f"{'peak RSS MiB':>12}")
    for row in rows:
        if "error" in row:
            print(f"{row['engine']:30} failed: {row['error']}")
            continue
        print(f"{row['engine']:30} {row['pages']:5d} {row['cpu_s_per_page']:10.2f} "
              f"{row['wall_s_per_page']:11.2f} {row['chars']:7d} {row['peak_rss_mib']:12.0f}")


if __name__ == "__main__":
    main()
