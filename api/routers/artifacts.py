"""Trained-pipeline artifacts: list, read, retire."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, PageCursor, PageLimit, ResourceId, SessionDep
from api.responses import error_responses
from shared.artifacts import service
from shared.artifacts.models import Artifact
from shared.artifacts.schemas import artifact_view
from shared.contract.paging import DEFAULT_LIMIT, Page
from shared.contract.resources import ArtifactOut
from shared.errors import BadRequest, NotFound

router = APIRouter(prefix="/v1/artifacts", tags=["training"])


def artifact_out(artifact: Artifact, *, with_report: bool = True) -> ArtifactOut:
    return ArtifactOut.model_validate(artifact_view(artifact, with_report=with_report))


@router.get("", response_model=Page[ArtifactOut], response_model_exclude_unset=True,
            responses=error_responses(BadRequest))
def list_artifacts(caller: CallerDep, session: SessionDep, include_retired: bool = False,
                   limit: PageLimit = DEFAULT_LIMIT, cursor: PageCursor = None) -> Page[ArtifactOut]:
    """Newest first; `pipeline` and `report` only on `GET /v1/artifacts/{id}`."""
    page = service.list_artifacts(session, tenant_id=caller.tenant_id,
                                  include_retired=include_retired, limit=limit, cursor=cursor)
    return page.page([artifact_out(a, with_report=False) for a in page.rows])


@router.get("/{artifact_id}", response_model=ArtifactOut, responses=error_responses(NotFound))
def get_artifact(artifact_id: ResourceId, caller: CallerDep, session: SessionDep) -> ArtifactOut:
    return artifact_out(service.get_artifact(session, tenant_id=caller.tenant_id,
                                             artifact_id=artifact_id))


@router.delete("/{artifact_id}", response_model=ArtifactOut, responses=error_responses(NotFound))
def retire_artifact(artifact_id: ResourceId, caller: CallerDep, session: SessionDep) -> ArtifactOut:
    """Retire: the artifact stays readable, and extraction with it answers 404."""
    return artifact_out(service.retire_artifact(session, tenant_id=caller.tenant_id,
                                                artifact_id=artifact_id))
