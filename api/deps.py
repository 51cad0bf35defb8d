"""Request dependencies: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from shared.db.session import transaction
from shared.tenants.service import Caller, authenticate


def get_session() -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_caller(
    session: SessionDep, x_api_key: Annotated[str | None, Header(alias="X-API-KEY")] = None
) -> Caller:
    return authenticate(session, x_api_key)


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_admin(caller: CallerDep) -> Caller:
    caller.require_admin()
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]
