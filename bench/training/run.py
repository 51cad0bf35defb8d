"""Train on 10 invoices of one layout, test on 10 others: accuracy per field before and after,
and extraction time per document with the untrained and the trained engine.

Local engine only, no network. The split here is explicit (first 10 train, last 10 test)
so that the test documents take no part in choosing the variant; the learning step is
the one the worker runs (`worker.training`), with its own train/held-out split inside
the 10 training documents.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.training.dataset import SCHEMA, make_examples
from shared.extraction.schema import parse_schema
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.config import DEFAULT_CONFIG, LocalConfig
from worker.training.learn import LabeledDocument
from worker.training.scoring import Scorecard, score_example
from worker.training.variants import train


def labeled(count: int) -> list[LabeledDocument]:
    return [LabeledDocument(ex.file_name, convert_document(
        ConversionRequest(ex.data, ex.file_name, "application/pdf")), ex.expected)
        for ex in make_examples(count)]


def score(docs: list[LabeledDocument], schema: dict[str, Any], config: LocalConfig) -> Scorecard:
    card = Scorecard()
    for doc in docs:
        actual = {k: v.value for k, v in run_engine(doc.document, schema, None, config).items()}
        score_example(card, doc.name, schema, doc.expected, actual)
    return card


def ms_per_doc(docs: list[LabeledDocument], schema: dict[str, Any],
               configs: list[LocalConfig], rounds: int) -> list[float]:
    """Per config, the median over `rounds` of the mean extraction ms per document.

    Rounds alternate between the configs so that a busy machine slows both alike.
    """
    timings: list[list[float]] = [[] for _ in configs]
    for _ in range(rounds):
        for index, config in enumerate(configs):
            started = time.perf_counter()
            for doc in docs:
                run_engine(doc.document, schema, None, config)
            timings[index].append((time.perf_counter() - started) * 1000 / len(docs))
    return [statistics.median(series) for series in timings]


def deterministic(docs: list[LabeledDocument], schema: dict[str, Any], config: LocalConfig) -> bool:
    def values() -> list[dict[str, Any]]:
        return [{k: v.value for k, v in run_engine(d.document, schema, None, config).items()}
                for d in docs]

    return values() == values()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20, help="documents in all (half train)")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds")
    args = parser.parse_args()
    schema = parse_schema(SCHEMA)
    docs = labeled(args.docs)
    half = len(docs) // 2
    train_docs, test_docs = docs[:half], docs[half:]
    started = time.perf_counter()
    outcome = train(train_docs, schema, holdout_fraction=0.5)
    training_s = time.perf_counter() - started
    trained = DEFAULT_CONFIG.merged(outcome.variant.overrides)
    before, after = score(test_docs, schema, DEFAULT_CONFIG), score(test_docs, schema, trained)
    out = sys.stdout
    out.write(f"# Trained pipeline benchmark: {len(train_docs)} train, {len(test_docs)} test "
              f"documents (one layout), local engine\n\n")
    out.write(f"Chosen variant: {outcome.variant.name} (training took {training_s:.1f} s)\n\n")
    out.write("| field | before | after |\n|---|---|---|\n")
    b, a = before.by_field(), after.by_field()
    for name in sorted(set(b) | set(a)):
        out.write(f"| {name} | {b.get(name, 0.0):.0%} | {a.get(name, 0.0):.0%} |\n")
    out.write(f"| **mean field accuracy** | {before.accuracy:.1%} | {after.accuracy:.1%} |\n\n")
    untrained_ms, trained_ms = ms_per_doc(test_docs, schema, [DEFAULT_CONFIG, trained],
                                          args.rounds)
    out.write(f"Extraction time per document (median of {args.rounds} rounds): untrained "
              f"{untrained_ms:.1f} ms, trained {trained_ms:.1f} ms\n")
    out.write(f"Trained extraction deterministic (two runs identical): "
              f"{deterministic(test_docs, schema, trained)}\n")
    if after.misses:
        out.write("\nStill failing:\n" + "".join(f"- {m.example} {m.field}: {m.why}\n"
                                                 for m in after.misses[:20]))
