"""One base for every JSON request body: a field the API does not know is a 400.

A silently ignored field is a silent bug on the client's side (a misspelled `burst`
answered 200 and changed nothing), so request bodies refuse unknown fields unless a
model says otherwise, explicitly, for fields a seed's requests are known to send.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """Base of every JSON request body (and of the objects nested in one)."""

    model_config = ConfigDict(extra="forbid")


class ResponseBody(BaseModel):
    """Base of every response shape. Extra keys are kept: a job's result fields depend on
    its operation, and a field added later must not be dropped by an older model."""

    model_config = ConfigDict(extra="allow")
