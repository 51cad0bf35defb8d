"""Fit the confidence map (`calibration.WEIGHTS`) and measure it out of sample.

    python -m bench.extraction.fit_calibration PATH…   # fit on every document; print WEIGHTS
    python -m bench.extraction PATH… --calibration-cv  # the benchmark plus a held-out check

Each reported field whose confidence came from whole-page candidates carries its concept
and evidence features (`FieldEvidence.basis`). Per concept, `fit` is a logistic regression
over the features the concept already has (the same features as `WEIGHTS`), with an L2
penalty `PENALTY` on the feature weights, so that a feature seen wrong only a few times
cannot push a probability to the ceiling. A concept with fewer than `MIN_EACH` right or
wrong fields in the fitting set cannot be fitted and keeps its hand-set weights.

The held-out check refits with this same procedure on part of the documents and scores
the rest, per fold: invoices leave one layout out (the `layoutN-` prefix of the file
name), other documents (receipts) are split in two fixed halves by name. Every document
is held out exactly once, so the pooled figures are out of sample: the map never saw the
layout (or half) it is scored on. Fields whose confidence is not calibrated (a label
match, a letterhead) keep the confidence the engine gave them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.extraction.corpora import converted, load_corpus
from bench.extraction.real import calibration_table, matches
from shared.extraction.schema import parse_schema
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.calibration import WEIGHTS, confidence_for

PENALTY = 4.0
MIN_EACH = 2
BOUND_Z = 1.0
HAND_SET = {"currency"}
_LAYOUT = re.compile(r"^(layout\d+)-")

Weights = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Observation:
    """One reported field: where it comes from, its evidence and whether it was right."""

    corpus: str
    document: str
    group: str
    concept: str | None
    features: dict[str, float]
    confidence: float
    right: bool


def collect(folders: list[Path]) -> list[Observation]:
    """Every labelled field the local engine reports, as the benchmark scores it."""
    found = []
    for folder in folders:
        documents = load_corpus(folder)
        for order, doc in enumerate(documents):
            group = _group(folder.name, doc.id, order, len(documents))
            evidence = run_engine(converted(doc.path), parse_schema(doc.schema), None)
            for name, want in doc.expected.items():
                item = evidence.get(name)
                if name == "line_items" or want is None or item is None:
                    continue
                concept, features = item.basis if item.basis else (None, {})
                found.append(Observation(folder.name, doc.id, group, concept, features,
                                         item.confidence, matches(name, want, item.value)))
    return found


def _group(corpus: str, document: str, order: int, count: int) -> str:
    """The fold a document is held out in: its layout, else its half of the corpus."""
    layout = _LAYOUT.match(document)
    if layout:
        return f"{corpus}/{layout.group(1)}"
    return f"{corpus}/half-{1 if order < count / 2 else 2}"


def fit(observations: list[Observation], prior: Weights = WEIGHTS) -> Weights:
    """Weights per concept by penalised logistic regression, capped by `ceiling`.

    A concept with fewer than `MIN_EACH` right or wrong fields gets only an intercept, at
    its smoothed accuracy ((right + 1) / (count + 2)); one with no fields, or set by hand
    (`HAND_SET`), keeps `prior`.
    """
    weights = {concept: dict(values) for concept, values in prior.items()}
    for concept, values in prior.items():
        rows = [o for o in observations if o.concept == concept]
        if concept in HAND_SET or not rows:
            continue
        right = sum(o.right for o in rows)
        names = [name for name in values if name not in ("bias", "ceiling")]
        if right < MIN_EACH or len(rows) - right < MIN_EACH:
            rate = (right + 1) / (len(rows) + 2)
            fitted = {"bias": math.log(rate / (1 - rate))}
        else:
            matrix = [[1.0] + [o.features.get(name, 0.0) for name in names] for o in rows]
            solved = _logistic(matrix, [float(o.right) for o in rows])
            fitted = {"bias": solved[0], **dict(zip(names, solved[1:], strict=True))}
        weights[concept] = {name: round(w, 2) for name, w in fitted.items()}
        weights[concept]["ceiling"] = round(ceiling(rows), 3)
    return weights


def ceiling(rows: list[Observation], z: float = BOUND_Z) -> float:
    """How sure the concept may ever be: the lower end of the Wilson interval of its
    accuracy in the fitting set, so a probability never claims more than the fitting
    set can show."""
    count = len(rows)
    p = sum(o.right for o in rows) / count
    centre = p + z * z / (2 * count)
    margin = z * math.sqrt(p * (1 - p) / count + z * z / (4 * count * count))
    return (centre - margin) / (1 + z * z / count)


def _logistic(matrix: list[list[float]], targets: list[float]) -> list[float]:
    """Newton's method for logistic regression with an L2 penalty on all but the intercept."""
    size = len(matrix[0])
    w = [0.0] * size
    for _ in range(50):
        gradient = [PENALTY * 2 * w[j] * (j > 0) for j in range(size)]
        hessian = [[PENALTY * 2 * (i == j and i > 0) for j in range(size)] for i in range(size)]
        for row, y in zip(matrix, targets, strict=True):
            p = 1 / (1 + math.exp(-sum(a * b for a, b in zip(row, w, strict=True))))
            for i in range(size):
                gradient[i] += (p - y) * row[i]
                for j in range(size):
                    hessian[i][j] += p * (1 - p) * row[i] * row[j]
        step = _solve(hessian, gradient)
        w = [a - b for a, b in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a small, positive-definite system)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def predicted(observation: Observation, weights: Weights) -> float:
    if observation.concept is None:
        return observation.confidence
    return confidence_for(observation.concept, observation.features, weights)


def held_out(observations: list[Observation]) -> list[tuple[Observation, float]]:
    """Each observation with the confidence a map fitted without its fold gives it."""
    scored = []
    for group in sorted({o.group for o in observations}):
        weights = fit([o for o in observations if o.group != group])
        scored += [(o, predicted(o, weights)) for o in observations if o.group == group]
    return scored


def summary(pairs: list[tuple[float, bool]]) -> tuple[float, int, float]:
    """ECE, fields at confidence ≥ 0.9 and the share of those that were right."""
    _, ece = calibration_table(pairs)
    high = [right for confidence, right in pairs if confidence >= 0.9]
    return ece, len(high), (sum(high) / len(high)) if high else 0.0


def cv_report(observations: list[Observation]) -> str:
    """The in-sample (shipped weights) and held-out calibration, overall and per corpus."""
    shipped = [(o, predicted(o, WEIGHTS)) for o in observations]
    out = held_out(observations)
    lines = ["## Calibration, in sample and held out", "",
             f"Held out: the map refitted (`bench/extraction/fit_calibration.py`, L2 penalty "
             f"{PENALTY}) without the documents' own fold; folds: "
             f"{len({o.group for o in observations})} (invoice layouts, receipt halves).", "",
             "| documents | fields | in sample: ECE | ≥ 0.9 right | held out: ECE | ≥ 0.9 right |",
             "|---|---|---|---|---|---|"]
    corpora = sorted({o.corpus for o in observations})
    for name, keep in [*((c, _in_corpus(c)) for c in corpora), ("all", lambda o: True)]:
        inside = _figures([(c, o.right) for o, c in shipped if keep(o)])
        outside = _figures([(c, o.right) for o, c in out if keep(o)])
        count = sum(1 for o in observations if keep(o))
        lines.append(f"| {name} | {count} | {inside} | {outside} |")
    rows, _ = calibration_table([(c, o.right) for o, c in out])
    lines += ["", "Held out, by bucket:", "", "| confidence | fields | mean confidence | accuracy |",
              "|---|---|---|---|", *rows, ""]
    return "\n".join(lines)


def _in_corpus(corpus: str) -> Callable[[Observation], bool]:
    return lambda o: o.corpus == corpus


def _figures(pairs: list[tuple[float, bool]]) -> str:
    ece, count, right = summary(pairs)
    return f"{ece:.3f} | {right:.1%} of {count}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="labeled corpus folders")
    args = parser.parse_args()
    observations = collect(args.paths)
    sys.stdout.write(cv_report(observations) + "\nWeights fitted on every document (paste into "
                     "worker/pipeline/extract/calibration.py):\n\n")
    sys.stdout.write(json.dumps(fit(observations), indent=1) + "\n")


if __name__ == "__main__":
    main()
