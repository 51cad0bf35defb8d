"""One list envelope, `{"data", "has_more", "next_cursor"}`, and keyset paging behind it.

The cursor is opaque to clients: the (created_at, id) of the last row returned, encoded.
Keyset paging stays correct while rows are added and costs the same on every page.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.clock import utc_instant
from shared.errors import BadRequest

T = TypeVar("T")
Row = TypeVar("Row")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 200


class Page(BaseModel, Generic[T]):
    """Every list the API returns: one page of `data`, and where the next one starts."""

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return f"{getattr(params[0], '__name__', 'Item')}Page"  # `JobOutPage` in OpenAPI

    data: list[T]
    has_more: bool = Field(description="True when another page follows.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                                "on the last page.")


@dataclass(frozen=True)
class Slice(Generic[Row]):
    """A page of rows as a service returns it, before the route shapes each row."""

    rows: list[Row]
    next_cursor: str | None

    def page(self, data: list[T]) -> Page[T]:
        return Page[T](data=data, has_more=self.next_cursor is not None,
                       next_cursor=self.next_cursor)


def keyset_page(
    session: Session, query: Select[Any], *, created: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[str], limit: int, cursor: str | None, newest_first: bool = True,
) -> Slice[Any]:
    """`query` (one entity) ordered by (`created`, `ident`), from `cursor`, `limit` rows."""
    if cursor:
        at, last_id = decode_cursor(cursor)
        if newest_first:
            query = query.where(or_(created < at, and_(created == at, ident < last_id)))
        else:
            query = query.where(or_(created > at, and_(created == at, ident > last_id)))
    order = (created.desc(), ident.desc()) if newest_first else (created.asc(), ident.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    next_cursor = encode_cursor(getattr(last, created.key), getattr(last, ident.key)) \
        if last is not None else None
    return Slice(rows, next_cursor)


def encode_cursor(created: datetime, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{ident}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """400 for anything `encode_cursor` did not make."""
    try:
        created, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return utc_instant(datetime.fromisoformat(created), "cursor"), ident
    except (ValueError, UnicodeDecodeError, BadRequest) as exc:
        raise BadRequest("Invalid cursor: pass the next_cursor of a previous page.",
                         code="invalid_request") from exc
