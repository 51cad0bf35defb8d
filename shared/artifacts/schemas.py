"""Pydantic shapes for training requests, and how training jobs and artifacts are shown."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.artifacts.models import Artifact, TrainingJob
from shared.clock import isoformat
from shared.contract.base import RequestBody
from shared.jobs.schemas import ModelConfig, Text


class TrainingExampleIn(RequestBody):
    """One labeled example uploaded by presign: its `file_uri` and the JSON it should yield."""

    file_uri: Text
    expected: Any


class TrainingRequest(RequestBody):
    """`POST /v1/training-jobs` as JSON; the multipart form carries the same fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Text | None = Field(default=None, max_length=200)
    schema_: str | dict[str, Any] | None = Field(default=None, alias="schema")
    mode: Text | None = None
    examples: list[TrainingExampleIn] = Field(default_factory=list)
    llm: ModelConfig | None = None
    """BYOK model to also evaluate LLM variants with (the key is sealed, never stored in clear)."""


def training_job_view(job: TrainingJob) -> dict[str, Any]:
    return {
        "training_job_id": job.id,
        "name": job.name,
        "status": job.status,
        "mode": job.mode,
        "examples": len(job.examples),
        "progress": job.progress,
        "report": job.report,
        "artifact_id": job.artifact_id,
        "error": job.error,
        "created_at": isoformat(job.created_at),
        "started_at": isoformat(job.started_at),
        "finished_at": isoformat(job.finished_at),
    }


def artifact_view(artifact: Artifact, *, with_report: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "artifact_id": artifact.id,
        "name": artifact.name,
        "version": artifact.version,
        "status": "retired" if artifact.retired_at else "active",
        "mode": artifact.mode,
        "schema": artifact.schema,
        "engine": artifact.pipeline.get("engine"),
        "variant": artifact.pipeline.get("variant"),
        "accuracy": (artifact.report or {}).get("accuracy"),
        "training_job_id": artifact.training_job_id,
        "created_at": isoformat(artifact.created_at),
        "retired_at": isoformat(artifact.retired_at),
    }
    if with_report:
        view["pipeline"] = artifact.pipeline
        view["report"] = artifact.report
    return view
