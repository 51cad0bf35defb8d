"""The overview's usage chart, laid out on the server: one bar per day, days without usage
included, so the template only draws rectangles (no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

WIDTH, HEIGHT, LABEL_SPACE = 600, 140, 20


@dataclass(frozen=True)
class Bar:
    day: str
    pages: int
    credits: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class UsageChart:
    bars: list[Bar]
    max_credits: int
    total_pages: int
    total_credits: int
    width: int = WIDTH
    height: int = HEIGHT
    label_space: int = LABEL_SPACE

    @property
    def empty(self) -> bool:
        return self.total_credits == 0 and self.total_pages == 0


def usage_chart(rows: list[dict[str, Any]], *, last_day: date, days: int) -> UsageChart:
    """Bars for `days` days ending on `last_day`, credits as the height, from the rows of
    `shared.billing.usage.usage_view(group_by="day")`."""
    by_day = {str(row["day"]): row for row in rows}
    slot = WIDTH / days
    values = []
    for offset in range(days):
        day = (last_day - timedelta(days=days - 1 - offset)).isoformat()
        row = by_day.get(day, {})
        values.append((day, int(row.get("pages", 0)), int(row.get("credits", 0))))
    top = max((credits for _, _, credits in values), default=0)
    bars = []
    for index, (day, pages, credits) in enumerate(values):
        height = (credits / top) * HEIGHT if top else 0.0
        bars.append(Bar(day=day, pages=pages, credits=credits, x=round(index * slot + 1, 2),
                        y=round(HEIGHT - height, 2), width=round(max(slot - 2, 1), 2),
                        height=round(height, 2)))
    return UsageChart(bars=bars, max_credits=top, total_pages=sum(v[1] for v in values),
                      total_credits=sum(v[2] for v in values))
