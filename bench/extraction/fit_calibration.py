"""Fit the confidence map (`calibration.WEIGHTS`) and measure it out of sample.

    python -m bench.extraction.fit_calibration PATH…   # fit on every document; print WEIGHTS
    python -m bench.extraction PATH… --calibration-cv  # the benchmark plus a held-out check

Each reported field whose confidence came from whole-page candidates carries its concept
and evidence features (`FieldEvidence.basis`). Per concept, `fit` is a logistic regression
over the features the concept has in `WEIGHTS` (the fitted ones; others are recorded for
later fits), with an L2 penalty `PENALTY` on the feature weights. A concept with fewer than
`MIN_EACH` right or wrong fields cannot be fitted: it gets only an intercept, at the lower
end of the Wilson interval of its accuracy counted over *clusters* (layouts, issuers)
rather than documents — six copies of one layout are one piece of evidence, not six, so
a concept never seen wrong on eight layouts claims about 0.89, not 0.98.

The held-out check refits with this same procedure without each fold and scores the fold.
Documents are grouped so that a layout or an issuer is never both fitted and scored:
invoices with a `layoutN-` file prefix leave one layout out; other documents (receipts) are
clustered by their labelled issuer (company/supplier), and the clusters are dealt into
`FOLDS` folds by a hash of the name. Every document is held out exactly once, so the
pooled figures are out of sample. Fields whose confidence is not calibrated (a label
match, a letterhead) keep the confidence the engine gave them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.extraction.corpora import LabeledDocument, converted, load_corpus
from bench.extraction.real import calibration_table, matches
from shared.extraction.schema import parse_schema
from worker.pipeline.extract import run_engine
from worker.pipeline.extract.calibration import WEIGHTS, confidence_for
from worker.pipeline.extract.evidence import Evidence

PENALTY = 0.5
MIN_EACH = 2
BOUND_Z = 1.0
FOLDS = 5
REPEATS = 8  # fold assignments the held-out figures are also averaged over
HAND_SET = {"currency"}
_LAYOUT = re.compile(r"^(layout\d+)-")

Weights = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Observation:
    """One reported field: where it comes from, its evidence and whether it was right."""

    corpus: str
    document: str
    group: str
    """The fold the document is held out in."""
    cluster: str
    """Its layout or issuer: documents that share one are not independent evidence."""
    concept: str | None
    features: dict[str, float]
    confidence: float
    right: bool


def collect(folders: list[Path]) -> list[Observation]:
    """Every labelled field the local engine reports, as the benchmark scores it."""
    found = []
    for folder in folders:
        documents = load_corpus(folder)
        for doc in documents:
            evidence = run_engine(converted(doc.path), parse_schema(doc.schema), None)
            found += observe(folder.name, doc, evidence)
    return found


def observe(corpus: str, doc: LabeledDocument, evidence: Evidence) -> list[Observation]:
    """The labelled fields (line items aside) that `evidence` reports for `doc`."""
    cluster = _cluster(corpus, doc.id, doc.expected)
    found = []
    for name, want in doc.expected.items():
        item = evidence.get(name)
        if name == "line_items" or want is None or item is None:
            continue
        concept, features = item.basis if item.basis else (None, {})
        found.append(Observation(corpus, doc.id, _fold(cluster), cluster, concept, features,
                                 item.confidence, matches(name, want, item.value)))
    return found


def fold_of(corpus: str, doc: LabeledDocument) -> str:
    """The fold `doc` is held out in (the `group` of its observations)."""
    return _fold(_cluster(corpus, doc.id, doc.expected))


def _cluster(corpus: str, document: str, expected: dict[str, Any]) -> str:
    """The document's layout (`layoutN-` prefix), else its labelled issuer, else itself."""
    layout = _LAYOUT.match(document)
    if layout:
        return f"{corpus}/{layout.group(1)}"
    issuer = expected.get("company") or expected.get("supplier")
    name = re.sub(r"[\W_]+", "", str(issuer).lower())[:12] if issuer else document
    return f"{corpus}/{name}"


def _fold(cluster: str, deal: int = 0) -> str:
    """Layouts are folds of their own; other clusters are dealt into `FOLDS` folds (`deal`
    picks one of several fixed ways to deal them)."""
    corpus, name = cluster.split("/", 1)
    if _LAYOUT.match(f"{name}-"):
        return cluster
    salt = f"{deal}:" if deal else ""
    return f"{corpus}/fold-{zlib.crc32(f'{salt}{name}'.encode()) % FOLDS + 1}"


def fit(observations: list[Observation], prior: Weights = WEIGHTS) -> Weights:
    """Weights per concept by penalised logistic regression.

    A concept with fewer than `MIN_EACH` right or wrong fields gets only an intercept, at
    `ceiling` (its accuracy's lower bound over clusters), and that as its ceiling; one with
    no fields, or set by hand (`HAND_SET`), keeps `prior`.
    """
    weights = {concept: dict(values) for concept, values in prior.items()}
    for concept, values in prior.items():
        rows = [o for o in observations if o.concept == concept]
        if concept in HAND_SET or not rows:
            continue
        right = sum(o.right for o in rows)
        names = [name for name in values if name not in ("bias", "ceiling")]
        if right < MIN_EACH or len(rows) - right < MIN_EACH:
            bound = min(ceiling(rows), 0.99)
            fitted = {"bias": math.log(bound / (1 - bound)), "ceiling": bound}
        else:
            matrix = [[1.0] + [o.features.get(name, 0.0) for name in names] for o in rows]
            solved = _logistic(matrix, [float(o.right) for o in rows])
            fitted = {"bias": solved[0], **dict(zip(names, solved[1:], strict=True))}
        weights[concept] = {name: round(w, 3 if name == "ceiling" else 2)
                            for name, w in fitted.items()}
    return weights


def ceiling(rows: list[Observation], z: float = BOUND_Z) -> float:
    """How sure a concept that was (almost) never wrong may be: the lower end of the Wilson
    interval of its accuracy, with as many trials as the rows have clusters (documents of
    one layout or issuer fail together, so they count once)."""
    count = len({o.cluster for o in rows})
    p = sum(o.right for o in rows) / len(rows)
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
             f"{len({o.group for o in observations})} (invoice layouts; other documents by "
             f"issuer, {FOLDS} folds).", "",
             "| documents | fields | in sample: ECE | ≥ 0.9 right | held out: ECE | ≥ 0.9 right |",
             "|---|---|---|---|---|---|"]
    corpora = sorted({o.corpus for o in observations})
    for name, keep in [*((c, _in_corpus(c)) for c in corpora), ("all", lambda o: True)]:
        inside = _figures([(c, o.right) for o, c in shipped if keep(o)])
        outside = _figures([(c, o.right) for o, c in out if keep(o)])
        count = sum(1 for o in observations if keep(o))
        lines.append(f"| {name} | {count} | {inside} | {outside} |")
    lines += ["", f"Held out over {REPEATS} ways of dealing the issuer clusters into folds "
              "(the figure depends on which issuers are fitted together):", "",
              "| documents | ECE mean (min–max) | ≥ 0.9 right, mean (min–max) |", "|---|---|---|"]
    repeats = [held_out([replace(o, group=_fold(o.cluster, deal)) for o in observations])
               for deal in range(REPEATS)]
    for name, keep in [*((c, _in_corpus(c)) for c in corpora), ("all", lambda o: True)]:
        figures = [summary([(c, o.right) for o, c in out if keep(o)]) for out in repeats]
        eces, rights = [f[0] for f in figures], [f[2] for f in figures]
        lines.append(f"| {name} | {sum(eces) / len(eces):.3f} ({min(eces):.3f}–{max(eces):.3f}) | "
                     f"{sum(rights) / len(rights):.1%} ({min(rights):.1%}–{max(rights):.1%}) |")
    rows, _ = calibration_table([(c, o.right) for o, c in out])
    lines += ["", "Held out (first dealing), by bucket:", "",
              "| confidence | fields | mean confidence | accuracy |", "|---|---|---|---|", *rows, ""]
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
