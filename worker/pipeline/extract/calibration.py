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
# Fitted by `python -m bench.extraction.fit_calibration PATH…` (L2-penalised logistic regression
# per concept; a concept almost never wrong gets an intercept-only ceiling at the lower bound of
# its accuracy counted over layouts/issuers); rerun it when the evidence changes. Features a
# concept records but has no weight for here (margin, doubt, agree, registered, first) are
# kept for later fits: on the benchmark's 591 fields they made the held-out figures worse.
WEIGHTS: dict[str, dict[str, float]] = {
    "total": {"bias": 2.9, "label": 0.67, "balances": 0.95, "largest": 0.57, "low": -0.58,
              "repeated": 0.1},
    "date": {"bias": 4.11, "label": -0.04, "other": 0.0, "invoice": 0.44, "first": -0.02,
             "top": -0.05},
    "invoice_number": {"bias": 1.66, "label": 0.47, "shape": 0.0},
    # Every currency in the fitting set was right, so nothing can be fitted: set by hand so
    # that a currency guessed from the language alone (no symbol, no code) stays near 0.6.
    "currency": {"bias": 0.5, "count": 2.0, "margin": 1.0},
    "vendor_name": {"bias": 2.39, "address": 0.75, "issuer": 0.08, "suffix": -0.99, "top": 0.08,
                    "contested": -0.81},
    "address": {"bias": 0.08, "lines": 1.82, "postcode": 1.75, "issuer": 0.09, "suffix": -1.03,
                "contested": -0.91},
}
CEILING = 0.97


def confidence_for(concept: str, features: dict[str, float],
                   table: dict[str, dict[str, float]] | None = None) -> float:
    """The probability the candidate is right; `table` replaces `WEIGHTS` when refitting."""
    weights = (table or WEIGHTS).get(concept) or WEIGHTS["date"]
    logit = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in features.items())
    ceiling = min(CEILING, weights.get("ceiling", CEILING))
    return round(min(ceiling, 1 / (1 + math.exp(-logit))), 3)
