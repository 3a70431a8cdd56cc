"""/api/cron-jobs: HTTP cron jobs, manual runs, executions and coming run times."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import cron_jobs, history
from app.web.api import bp
from app.web.api import serializers as out
from app.web.api.auth import require_scope
from app.web.api.bodies import json_body


@bp.get("/cron-jobs")
@require_scope("cron-jobs:read")
def list_cron_jobs() -> ResponseReturnValue:
    args = request.args
    page = cron_jobs.list_cron_jobs(
        enabled=args.get("enabled"),
        group=args.get("group"),
        tag=args.getlist("tag"),
        search=args.get("search"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 50),
    )
    return out.page_response(page, [out.cron_job(j) for j in page.items])


@bp.post("/cron-jobs")
@require_scope("cron-jobs:write")
def create_cron_job() -> ResponseReturnValue:
    return jsonify(out.cron_job(cron_jobs.create(json_body()))), 201


@bp.get("/cron-jobs/<cron_job:cron_job_id>")
@require_scope("cron-jobs:read")
def get_cron_job(cron_job_id: int) -> ResponseReturnValue:
    return jsonify(out.cron_job(cron_jobs.get(cron_job_id)))


@bp.put("/cron-jobs/<cron_job:cron_job_id>")
@require_scope("cron-jobs:write")
def update_cron_job(cron_job_id: int) -> ResponseReturnValue:
    return jsonify(out.cron_job(cron_jobs.update(cron_job_id, json_body())))


@bp.delete("/cron-jobs/<cron_job:cron_job_id>")
@require_scope("cron-jobs:write")
def delete_cron_job(cron_job_id: int) -> ResponseReturnValue:
    cron_jobs.delete(cron_job_id)
    return jsonify(success=True)


@bp.post("/cron-jobs/<cron_job:cron_job_id>/run")
@require_scope("cron-jobs:write")
def run_cron_job(cron_job_id: int) -> ResponseReturnValue:
    planned_at = cron_jobs.run_now(cron_job_id)
    return jsonify(cron_job_id=cron_job_id, status="queued", planned_at=out.iso(planned_at)), 202


@bp.get("/cron-jobs/<cron_job:cron_job_id>/executions")
@require_scope("cron-jobs:read")
def list_executions(cron_job_id: int) -> ResponseReturnValue:
    args = request.args
    page = history.executions(
        cron_job_id, page=args.get("page", 1), per_page=args.get("per_page", 50)
    )
    return out.page_response(page, [out.execution(e) for e in page.items])


@bp.get("/cron-jobs/<cron_job:cron_job_id>/executions/<bigid:execution_id>")
@require_scope("cron-jobs:read")
def get_execution(cron_job_id: int, execution_id: int) -> ResponseReturnValue:
    return jsonify(out.execution(history.execution(cron_job_id, execution_id), detail=True))


@bp.get("/cron-jobs/<cron_job:cron_job_id>/next-runs")
@require_scope("cron-jobs:read")
def next_runs(cron_job_id: int) -> ResponseReturnValue:
    runs = cron_jobs.next_runs(cron_job_id, request.args.get("count", 5))
    return jsonify(next_runs=[out.iso(run) for run in runs])
