"""Confidence from evidence: a logistic map per concept over the candidate's evidence features.

A field's confidence is the estimated probability that its value is right, given the
evidence the engine saw: for a total, whether a pay-label names it, whether subtotal +
tax add up to it, whether it repeats; for a date, whether a date label or another
date's label (due, delivery) sits next to it; and so on (`candidates.py` sets the
features). The weights were fitted on the benchmark's real documents by
`bench/extraction/fit_calibration.py`, which also measures them on layouts held out of
the fit (`python -m bench.extraction PATH… --calibration-cv`, see docs/extraction.md).
"""

from __future__ import annotations

import math

# concept → feature → weight ("bias" is the intercept, "ceiling" the most the concept may claim).
# Fitted by `python -m bench.extraction.fit_calibration PATH…` (penalised logistic regression,
# ceiling = lower end of the concept's accuracy interval); rerun it when the evidence changes.
WEIGHTS: dict[str, dict[str, float]] = {
    "total": {"bias": 2.9, "label": 0.12, "balances": 0.26, "largest": 0.22, "low": -0.17,
              "repeated": -0.24, "ceiling": 0.924},
    "date": {"bias": 4.15, "label": 0.02, "other": 0.0, "invoice": 0.07, "first": 0.0,
             "top": -0.01, "ceiling": 0.97},
    "invoice_number": {"bias": 2.02, "label": 0.06, "shape": 0.0, "ceiling": 0.839},
    # Every currency in the fitting set was right, so nothing can be fitted: set by hand so
    # that a currency guessed from the language alone (no symbol, no code) stays near 0.6.
    "currency": {"bias": 0.5, "count": 2.0, "margin": 1.0},
    "vendor_name": {"bias": 2.03, "address": 0.09, "issuer": 0.04, "suffix": -0.3, "top": -0.02,
                    "ceiling": 0.846},
    "address": {"bias": 1.42, "lines": 0.24, "postcode": 0.29, "issuer": 0.05, "suffix": -0.39,
                "ceiling": 0.81},
}
CEILING = 0.97


def confidence_for(concept: str, features: dict[str, float],
                   table: dict[str, dict[str, float]] | None = None) -> float:
    """The probability the candidate is right; `table` replaces `WEIGHTS` when refitting."""
    weights = (table or WEIGHTS).get(concept) or WEIGHTS["date"]
    logit = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in features.items())
    ceiling = min(CEILING, weights.get("ceiling", CEILING))
    return round(min(ceiling, 1 / (1 + math.exp(-logit))), 3)
