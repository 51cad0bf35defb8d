"""Run both engines over the generated set; print precision/recall per field type and throughput.

With corpus folders as arguments, score the local engine on those real documents
instead (`bench/extraction/real.py`).

The LLM path runs against a scripted OpenAI-compatible server on loopback (no real
model is reachable here). It answers from the expected JSON with deliberate noise:
some answers are broken JSON, some format amounts as strings, some drop a field, some
get one value wrong. So its figures measure Quarry's LLM plumbing (prompting, repair,
coercion, validation, chunking, grounding), not a model's reading skill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench.extraction.scoring import Score, Tally, score_document  # noqa: E402
from shared.errors import QuarryError  # noqa: E402
from shared.extraction.schema import parse_schema  # noqa: E402
from tests.llm_server import Recorded, Reply, answer, running_llm  # noqa: E402
from worker.pipeline.convert import ConversionRequest, convert_document  # noqa: E402
from worker.pipeline.document import Document  # noqa: E402
from worker.pipeline.extract import run_engine  # noqa: E402
from worker.pipeline.llm import LLMConfig  # noqa: E402

DATA = Path(__file__).parent / "data"


def load_set() -> list[tuple[dict[str, Any], Document]]:
    if not any(DATA.glob("*.json")):
        from bench.extraction.make_dataset import main as generate

        generate()
    docs = []
    for path in sorted(DATA.glob("*.json")):
        entry = json.loads(path.read_text())
        entry["schema"] = parse_schema(entry["schema"])
        data = (DATA / entry["file"]).read_bytes()
        document = convert_document(ConversionRequest(data, entry["file"], "application/pdf"))
        docs.append((entry, document))
    return docs


def run_local(docs: list[tuple[dict[str, Any], Document]]) -> tuple[Score, float, list[str]]:
    score, pending = Score(), []
    started = time.perf_counter()
    for entry, document in docs:
        if not document.plain_text.strip():
            pending.append(entry["id"])  # image-only: needs OCR in convert_document
            continue
        evidence = run_engine(document, entry["schema"], None)
        score_document(score, entry["id"], entry["schema"], entry["expected"],
                       {k: v.value for k, v in evidence.items()})
    elapsed = time.perf_counter() - started
    return score, (len(docs) - len(pending)) / elapsed, pending


def noisy_responder(expected_by_marker: dict[str, dict[str, Any]], seed: int = 7) -> Any:
    rng = random.Random(seed)
    repairs: set[str] = set()

    def respond(recorded: Recorded) -> Reply:
        prompt = recorded.prompt
        doc_id = _best_match(prompt, expected_by_marker)
        if doc_id is None:
            return answer({})
        value = json.loads(json.dumps(expected_by_marker[doc_id]))
        roll = rng.random()
        if roll < 0.10 and doc_id not in repairs:
            repairs.add(doc_id)
            return answer(json.dumps(value)[:-5])  # broken JSON: the repair round must fix it
        if roll < 0.30:
            for key, item in value.items():
                if isinstance(item, float):
                    value[key] = f"${item:,.2f}"  # amounts as strings: coercion must fix them
        elif roll < 0.40 and value:
            value.pop(rng.choice(sorted(value)))  # the model overlooked a field
        elif roll < 0.45:
            key = rng.choice(sorted(value))
            if isinstance(value[key], str):
                value[key] = value[key] + " X"  # the model misread a value
        return answer(value)

    return respond


def _best_match(prompt: str, expected: dict[str, dict[str, Any]]) -> str | None:
    """The document whose expected string values the prompt contains most of."""
    def hits(values: dict[str, Any]) -> int:
        return sum(1 for v in values.values() if isinstance(v, str) and len(v) > 3 and v in prompt)

    best = max(expected, key=lambda d: hits(expected[d]), default=None)
    return best if best is not None and hits(expected[best]) else None


def run_llm(docs: list[tuple[dict[str, Any], Document]]) -> tuple[Score, float, int]:
    expected = {entry["id"]: entry["expected"] for entry, doc in docs if doc.plain_text.strip()}
    score, failures = Score(), 0
    with running_llm() as server:
        server.responder = noisy_responder(expected)
        config = LLMConfig(model="openai/gpt-4o-mini", api_key="sk-bench", api_base=server.url,
                           num_retries=1, timeout_s=10, retry_backoff_s=0.01)
        started = time.perf_counter()
        for entry, document in docs:
            if entry["id"] not in expected:
                continue
            try:
                evidence = run_engine(document, entry["schema"], config)
                actual = {k: v.value for k, v in evidence.items()}
            except QuarryError as exc:
                failures += 1
                score.errors.append(f"{entry['id']}: {exc.detail}")
                actual = {}
            score_document(score, entry["id"], entry["schema"], entry["expected"], actual)
        elapsed = time.perf_counter() - started
    return score, len(expected) / elapsed, failures


def report(title: str, score: Score, rate: float) -> str:
    lines = [f"## {title}", "", "| field type | correct | wrong | missed | precision | recall |",
             "|---|---|---|---|---|---|"]
    for kind in sorted(score.by_type):
        t = score.by_type[kind]
        lines.append(f"| {kind} | {t.correct} | {t.wrong} | {t.missed} | {t.precision:.1%} "
                     f"| {t.recall:.1%} |")
    total = score.scalar_total()
    items = Tally()
    for kind, tally in score.by_type.items():
        if kind.startswith("line_item"):
            items.add(tally)
    lines += [f"| **scalar fields** | {total.correct} | {total.wrong} | {total.missed} | "
              f"{total.precision:.1%} | {total.recall:.1%} |",
              f"| **line-item cells** | {items.correct} | {items.wrong} | {items.missed} | "
              f"{items.precision:.1%} | {items.recall:.1%} |", "",
              f"Scalar-field accuracy: {total.accuracy:.1%}. Throughput: {rate:.1f} docs/s.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path,
                        help="labeled corpus folders (receipts/, invoices-scanned/); none: the generated set")
    parser.add_argument("--errors", action="store_true", help="list every wrong or missed field")
    parser.add_argument("--local-only", action="store_true")
    parser.add_argument("--timing", type=int, default=6, metavar="N",
                        help="with corpus folders: also time N scanned files and the generated "
                             "set's text PDFs end to end (conversion included) on one core; "
                             "0 skips it")
    parser.add_argument("--calibration-cv", action="store_true",
                        help="with corpus folders: also refit the confidence map without each "
                             "layout (or receipt half) and report calibration on what it left out")
    parser.add_argument("--string-typed", action="store_true",
                        help="with corpus folders: also score with every top-level scalar field "
                             "typed as the shorthand \"string\" (no format, no description)")
    parser.add_argument("--routing", action="store_true",
                        help="with corpus folders: also show what each routing escalation "
                             "threshold would answer locally and how accurately "
                             "(`bench/extraction/routing.py`)")
    args = parser.parse_args()
    if args.paths:
        from bench.extraction.real import report as real_report
        from bench.extraction.real import score_corpus

        sys.stdout.write(real_report([score_corpus(path) for path in args.paths], args.errors))
        if args.string_typed:
            sys.stdout.write("\n# Same corpora, string-typed schemas\n\n" + real_report(
                [score_corpus(path, plain_strings=True) for path in args.paths], args.errors))
        if args.calibration_cv:
            from bench.extraction.fit_calibration import collect, cv_report

            sys.stdout.write("\n" + cv_report(collect(args.paths)))
        if args.routing:
            from bench.extraction.routing import report as routing_report

            sys.stdout.write("\n" + routing_report(args.paths))
        if args.timing > 0:
            from bench.extraction import timing

            how = timing.one_core()
            sys.stdout.write("\n" + timing.report(timing.scanned_pages(args.paths, args.timing),
                                                  timing.text_pages(), how))
        return
    docs = load_set()
    out = sys.stdout
    out.write(f"# Extraction benchmark: {len(docs)} documents\n\n")
    local, rate, pending = run_local(docs)
    out.write(report("Local engine", local, rate) + "\n")
    if pending:
        out.write(f"Pending OCR (image-only, no text layer from convert_document): {', '.join(pending)}\n\n")
    if args.errors:
        out.write("\n".join(local.errors) + "\n\n")
    if not args.local_only:
        llm, llm_rate, failures = run_llm(docs)
        out.write(report("LLM path (scripted loopback server, noisy answers)", llm, llm_rate) + "\n")
        out.write(f"Requests failed outright: {failures}\n")
        if args.errors:
            out.write("\n".join(llm.errors) + "\n")
