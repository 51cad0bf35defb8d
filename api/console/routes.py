"""The web console's pages (`/console`): sign in with an API key, the overview, API keys and
jobs.

Every page acts as the signed-in key through the API's own route functions
(`api.routers.*`), which call the same `shared/*/service.py` functions with the same tenant
checks: the console is another way to show the API, not another way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from api.console.charts import usage_chart
from api.console.page_views import job_evidence
from api.console.render import ConsoleRoute, NotSignedIn, page, redirect
from api.console.session import (
    ConsoleSession,
    end_session,
    new_session,
    read_session,
    sign_in_token,
    store_session,
    store_sign_in_token,
    valid_sign_in_token,
)
from api.console.sign_in_limit import check_sign_in_allowed, record_sign_in_failure
from api.console.timings import job_timings
from api.deps import PageCursor, PageLimit, ResourceId, SessionDep
from api.limits import apply_rate_limit
from api.routers import batches, billing, jobs, me, webhooks
from shared.clock import utcnow
from shared.db.session import transaction
from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.tenants.schemas import KeyCreate, KeyIssued
from shared.tenants.service import Caller, authenticate

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 20
RECENT_JOBS = 5
USAGE_DAYS = 30
JOB_STATUSES = ("queued", "running", "succeeded", "partial", "failed", "canceled")
MAX_KEY_CHARS = 500


@dataclass(frozen=True)
class SignedIn:
    caller: Caller
    session: ConsoleSession

    def context(self, **values: object) -> dict[str, object]:
        """What every signed-in page's layout needs, plus the page's own values."""
        return {"caller": self.caller, "csrf_token": self.session.csrf_token, **values}


def signed_in(request: Request) -> SignedIn:
    """The session's key, authenticated as the API authenticates `X-API-KEY` (a revoked key
    ends the session), and the request counted against the tenant's general rate limit."""
    console = read_session(request)
    if console is None:
        raise NotSignedIn()
    try:
        with transaction() as db:
            caller = authenticate(db, console.api_key)
    except Unauthorized:
        raise NotSignedIn() from None
    apply_rate_limit(request, caller)
    return SignedIn(caller=caller, session=console)


SignedInDep = Annotated[SignedIn, Depends(signed_in)]
CsrfField = Annotated[str, Form(max_length=200)]


def checked_form(user: SignedInDep, csrf_token: CsrfField = "") -> SignedIn:
    """A state-changing form: only with the session's CSRF token."""
    if not user.session.valid_csrf(csrf_token):
        raise Forbidden("This form has expired. Reload the page and try again.")
    return user


FormUserDep = Annotated[SignedIn, Depends(checked_form)]


# Sign in and out.

@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    return redirect("/console/overview" if read_session(request) else "/console/sign-in")


def _sign_in_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = sign_in_token(request)
    response = page(request, "sign_in.html", {"csrf_token": token, "error": error},
                    status_code=status_code)
    store_sign_in_token(request, response, token)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if read_session(request):
        return redirect("/console/overview")
    return _sign_in_page(request)


@router.post("/sign-in")
def sign_in(request: Request, api_key: Annotated[str, Form(max_length=MAX_KEY_CHARS)] = "",
            csrf_token: CsrfField = "") -> Response:
    if not valid_sign_in_token(request, csrf_token):
        return _sign_in_page(request, error="The sign-in form expired. Try again.", status_code=403)
    check_sign_in_allowed(request)
    try:
        with transaction() as db:
            caller = authenticate(db, api_key.strip())
    except Unauthorized:
        record_sign_in_failure(request)
        return _sign_in_page(request, error="That API key is not valid or has been revoked.",
                             status_code=401)
    apply_rate_limit(request, caller)
    response = redirect("/console/overview")
    store_session(request, response, new_session(api_key.strip()))
    return response


@router.post("/sign-out")
def sign_out(request: Request, user: FormUserDep) -> Response:
    response = redirect("/console/sign-in")
    end_session(request, response, user.session)
    return response


# Overview.

@router.get("/overview")
def overview(request: Request, user: SignedInDep, db: SessionDep) -> Response:
    caller = user.caller
    today = utcnow()
    start = (today - timedelta(days=USAGE_DAYS - 1)).replace(hour=0, minute=0, second=0,
                                                              microsecond=0)
    balance = billing.get_balance(caller.tenant_id, caller, db)
    usage = billing.get_usage(caller.tenant_id, caller, db, start=start, end=None, group_by="day")
    chart = usage_chart([row.model_dump() for row in usage.rows], last_day=today.date(),
                        days=USAGE_DAYS)
    recent = jobs.list_jobs(caller, db, status=None, limit=RECENT_JOBS, cursor=None)
    plan = me.get_me(caller, db)
    return page(request, "overview.html", user.context(
        nav="overview", balance=balance, chart=chart, usage_days=USAGE_DAYS, recent=recent.data,
        plan=plan.plan, limits=plan.limits))


# API keys.

def _keys_page(request: Request, user: SignedIn, db: SessionDep, *, cursor: str | None = None,
               issued: KeyIssued | None = None, error: str | None = None,
               status_code: int = 200) -> Response:
    keys = me.list_api_keys(user.caller, db, limit=PAGE_SIZE, cursor=cursor)
    return page(request, "keys.html", user.context(nav="keys", keys=keys, issued=issued,
                                                   error=error), status_code=status_code)


@router.get("/keys")
def keys_page(request: Request, user: SignedInDep, db: SessionDep,
              cursor: PageCursor = None) -> Response:
    return _keys_page(request, user, db, cursor=cursor)


@router.post("/keys")
def create_key(request: Request, user: FormUserDep, db: SessionDep,
               name: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        body = KeyCreate(name=name.strip())
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]) for error in exc.errors())
        return _keys_page(request, user, db, error=f"Name: {problems}.", status_code=400)
    issued = me.create_api_key(body, user.caller, db)
    # Shown on this response only (never stored, never redirected to): the secret is seen once.
    return _keys_page(request, user, db, issued=issued, status_code=201)


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: ResourceId, user: FormUserDep, db: SessionDep) -> Response:
    me.revoke_api_key(key_id, user.caller, db)
    return redirect("/console/keys")


# Jobs.

@router.get("/jobs")
def jobs_page(request: Request, user: SignedInDep, db: SessionDep,
              status: Annotated[str, Query(max_length=20)] = "",
              cursor: PageCursor = None, limit: PageLimit = PAGE_SIZE) -> Response:
    if status and status not in JOB_STATUSES:
        raise BadRequest(f"Unknown status {status!r}.")
    found = jobs.list_jobs(user.caller, db, status=status or None, limit=limit, cursor=cursor)
    # htmx asks for the table alone when the filter changes; a plain request gets the page.
    partial = request.headers.get("hx-request") == "true"
    response = page(request, "jobs_table.html" if partial else "jobs.html", user.context(
        nav="jobs", jobs=found, status=status, statuses=JOB_STATUSES, cursor=cursor,
        limit=limit))
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: ResourceId, user: SignedInDep, db: SessionDep) -> Response:
    job = jobs.get_job(job_id, user.caller, db)
    deliveries = webhooks.list_deliveries(job_id, user.caller, db, limit=PAGE_SIZE, cursor=None)
    evidence = job_evidence(job, user.caller.tenant_id)  # the page-with-boxes view
    return page(request, "job.html", user.context(nav="jobs", job=job, timings=job_timings(job),
                                                  extra=job.model_extra or {},
                                                  deliveries=deliveries, evidence=evidence))


@router.post("/jobs/{job_id}/deliveries/{delivery_id}/redeliver")
def redeliver(job_id: ResourceId, delivery_id: ResourceId, user: FormUserDep,
              db: SessionDep) -> Response:
    webhooks.redeliver(job_id, delivery_id, user.caller, db)
    return redirect(f"/console/jobs/{job_id}")


# Batches.

@router.get("/batches")
def batches_page(request: Request, user: SignedInDep, db: SessionDep,
                 cursor: PageCursor = None, limit: PageLimit = PAGE_SIZE) -> Response:
    found = batches.list_batches(user.caller, db, limit=limit, cursor=cursor)
    return page(request, "batches.html", user.context(nav="batches", batches=found,
                                                      cursor=cursor, limit=limit))


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: ResourceId, user: SignedInDep,
               db: SessionDep) -> Response:
    batch = batches.get_batch(batch_id, user.caller, db)
    return page(request, "batch.html", user.context(nav="batches", batch=batch))


@router.get("/batches/{batch_id}/results")
def batch_results(batch_id: ResourceId, user: SignedInDep, db: SessionDep) -> Response:
    """The API's JSON Lines stream, saved by the browser as a file."""
    response = batches.get_batch_results(batch_id, user.caller, db)
    response.headers["Content-Disposition"] = f'attachment; filename="{batch_id}.jsonl"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(batch_id: ResourceId, user: FormUserDep, db: SessionDep) -> Response:
    batches.cancel_batch(batch_id, user.caller, db)
    return redirect(f"/console/batches/{batch_id}")


# Webhooks.

@router.get("/webhooks")
def webhooks_page(request: Request, user: SignedInDep, db: SessionDep,
                  cursor: PageCursor = None) -> Response:
    from shared.webhooks.schemas import delivery_view
    from shared.webhooks.service import list_tenant_deliveries

    secret = webhooks.get_webhook_secret(user.caller, db)
    # Across the tenant's jobs and batches, newest first (the API lists them per job).
    recent = list_tenant_deliveries(db, tenant_id=user.caller.tenant_id, limit=PAGE_SIZE,
                                    cursor=cursor)
    deliveries = [delivery_view(delivery, attempts) | {"job_id": delivery.job_id,
                                                       "batch_id": delivery.batch_id}
                  for delivery, attempts in recent.rows]
    return page(request, "webhooks.html", user.context(
        nav="webhooks", secret=secret, deliveries=deliveries, cursor=cursor,
        next_cursor=recent.next_cursor))


@router.post("/webhooks/rotate")
def rotate_webhook_secret(user: FormUserDep, db: SessionDep) -> Response:
    webhooks.rotate_webhook_secret(user.caller, db)
    return redirect("/console/webhooks")
