"""Trained-pipeline artifacts: list, read, retire."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CallerDep, ResourceId, SessionDep
from shared.artifacts import service
from shared.artifacts.schemas import artifact_view

router = APIRouter(prefix="/v1/artifacts", tags=["training"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Artifact not found"}}


@router.get("")
def list_artifacts(caller: CallerDep, session: SessionDep,
                   include_retired: bool = False) -> dict[str, Any]:
    artifacts = service.list_artifacts(session, tenant_id=caller.tenant_id,
                                       include_retired=include_retired)
    return {"artifacts": [artifact_view(a, with_report=False) for a in artifacts]}


@router.get("/{artifact_id}", responses=NOT_FOUND)
def get_artifact(artifact_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    return artifact_view(service.get_artifact(session, tenant_id=caller.tenant_id,
                                              artifact_id=artifact_id))


@router.delete("/{artifact_id}", responses=NOT_FOUND)
def retire_artifact(artifact_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    """Retire: the artifact stays readable, and extraction with it answers 404."""
    return artifact_view(service.retire_artifact(session, tenant_id=caller.tenant_id,
                                                 artifact_id=artifact_id))
