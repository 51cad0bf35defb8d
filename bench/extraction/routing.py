"""Is the routing rule's escalation test well tuned? Measured on real, labelled documents.

    python -m bench.extraction.routing PATH…     # or: python -m bench.extraction PATH… --routing

On the `local_then_llm` route (docs/routing.md) the local engine answers first and the
model is asked only when the local answer misses a required field, fails its schema or
has an overall confidence under `routing_escalate_below_confidence`. For each threshold
this prints the share of documents the local engine answers alone (no model call: the
saving) and the field accuracy of those local answers, against the local accuracy on the
documents the rule escalates (the answers the model replaces).

The escalation test is `escalation_reason`, the worker's own function, run on the local
engine's answer with the schemas below; only the threshold varies. The corpora are scans,
which the rule sends to the model first; the test reads nothing but the local answer, so
the figures say what it would do *if these were text documents* with the same words.

Schemas: the benchmark's (`corpora.py`), with `required` set to what a user of such
documents cannot do without, and the invoice line items left out (an array of objects
makes a schema not simple: such a job goes to the model first whatever the threshold):

- receipts: `company`, `date`, `total` required; `address` optional;
- invoices: `supplier`, `invoice_number`, `invoice_date`, `total` required; `currency`,
  `address` optional.

Confidence is held out as `--calibration-cv` holds it out (`fit_calibration.py`): each
document's calibrated fields get the confidence a map fitted without its layout or issuer
fold gives them, so the rule is not judged on the documents its confidence was fitted on.
The shipped map's (in-sample) figures follow for comparison. A field counts as right as
the benchmark scores it (`real.matches`); a labelled field left empty is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.extraction.corpora import INVOICE_SCHEMA, RECEIPT_SCHEMA, converted, load_corpus
from bench.extraction.fit_calibration import Observation, Weights, fit, fold_of, observe
from bench.extraction.real import matches
from bench.extraction.routing_figures import Routed, reasons, table
from shared.extraction.schema import inline_refs, parse_schema
from shared.settings import get_settings
from worker.pipeline.extract import escalation_reason, run_engine
from worker.pipeline.extract.calibration import confidence_for
from worker.pipeline.extract.evidence import Evidence
from worker.pipeline.extract.payload import overall_confidence

REQUIRED = {"receipt": ["company", "date", "total"],
            "invoice": ["supplier", "invoice_number", "invoice_date", "total"]}
_BASE = {"receipt": RECEIPT_SCHEMA, "invoice": INVOICE_SCHEMA}


def routing_schema(kind: str) -> dict[str, Any]:
    """The corpus type's schema as a user routing on it writes it (module docstring)."""
    base = _BASE[kind]
    properties = {name: spec for name, spec in base["properties"].items() if name != "line_items"}
    return {"type": "object", "properties": properties, "required": REQUIRED[kind]}


@dataclass(frozen=True)
class _Answer:
    """One document's local answer, with its fold and how many labelled fields it got right."""

    corpus: str
    id: str
    fold: str
    schema: dict[str, Any]
    evidence: Evidence
    right: int
    labelled: int


def collect(folders: list[Path]) -> tuple[list[_Answer], list[Observation]]:
    """The local engine's answer on every document, and its labelled fields for refitting."""
    answers, observations = [], []
    for folder in folders:
        for doc in load_corpus(folder):
            schema = parse_schema(routing_schema(doc.kind))
            evidence = run_engine(converted(doc.path), schema, None)
            labelled = {k: v for k, v in doc.expected.items() if k != "line_items" and v is not None}
            right = sum(1 for name, want in labelled.items()
                        if name in evidence and matches(name, want, evidence[name].value))
            answers.append(_Answer(folder.name, doc.id, fold_of(folder.name, doc), schema,
                                   evidence, right, len(labelled)))
            observations += observe(folder.name, doc, evidence)
    return answers, observations


def routed(answers: list[_Answer], observations: list[Observation],
           held_out: bool) -> list[Routed]:
    """Each answer as the escalation test sees it, with held-out or shipped confidence."""
    maps: dict[str, Weights] = {}
    found = []
    for answer in answers:
        evidence = answer.evidence
        if held_out:
            if answer.fold not in maps:
                maps[answer.fold] = fit([o for o in observations if o.group != answer.fold])
            evidence = _recalibrated(evidence, maps[answer.fold])
        with _threshold(0):
            hard = escalation_reason(evidence, answer.schema)
        confidence = overall_confidence(evidence, inline_refs(answer.schema), True)
        found.append(Routed(answer.corpus, answer.id, hard, confidence, answer.right,
                            answer.labelled))
    return found


def _recalibrated(evidence: Evidence, weights: Weights) -> Evidence:
    return {name: replace(item, confidence=confidence_for(*item.basis, weights))
            if item.basis else item for name, item in evidence.items()}


@contextmanager
def _threshold(value: int) -> Iterator[None]:
    """`routing_escalate_below_confidence` set to `value` for the worker's own test."""
    key = "QUARRY_ROUTING_ESCALATE_BELOW_CONFIDENCE"
    before = os.environ.get(key)
    os.environ[key] = str(value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
        get_settings.cache_clear()


def agreement(answers: list[_Answer], documents: list[Routed]) -> tuple[int, int]:
    """How many shipped-map documents `Routed.escalates` decides as `escalation_reason` does at
    the configured threshold (a check that the table measures the rule the worker runs)."""
    threshold = get_settings().routing_escalate_below_confidence
    same = sum(1 for answer, doc in zip(answers, documents, strict=True)
               if (escalation_reason(answer.evidence, answer.schema) is not None)
               == doc.escalates(threshold))
    return same, len(documents)


def report(folders: list[Path]) -> str:
    answers, observations = collect(folders)
    held = routed(answers, observations, held_out=True)
    shipped = routed(answers, observations, held_out=False)
    default = get_settings().routing_escalate_below_confidence
    same, total = agreement(answers, shipped)
    lines = ["## Routing: the escalation threshold on real documents", "",
             "If these were text documents (scans, read by OCR; see bench/extraction/routing.py). "
             f"Configured threshold: {default}. The table's rule and the worker's "
             f"`escalation_reason` agree on {same}/{total} documents at it.", ""]
    for title, documents in (("held-out confidence", held), ("shipped map, in sample", shipped)):
        corpora = sorted({d.corpus for d in documents})
        scopes = [("all", documents)] if len(corpora) > 1 else []
        scopes += [(c, [d for d in documents if d.corpus == c]) for c in corpora]
        for name, inside in scopes:
            lines += [f"### {name}, {title}: {len(inside)} documents", "", *table(inside), "",
                      reasons(inside, default), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="labeled corpus folders")
    args = parser.parse_args()
    sys.stdout.write(report(args.paths))


if __name__ == "__main__":
    main()
