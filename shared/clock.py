"""Time in one place, always timezone-aware UTC."""

from datetime import UTC, datetime

from shared.errors import BadRequest


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a `Z`, as the API contract shows."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_instant(moment: datetime, name: str) -> datetime:
    """A client's instant in UTC (without an offset it is UTC); 400 when UTC cannot hold it
    (`0001-01-01T00:00:00+01:00` is in year 0)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise BadRequest(f"{name} is out of range: use an instant between years 1 and 9999 UTC.",
                         code="invalid_request") from exc
