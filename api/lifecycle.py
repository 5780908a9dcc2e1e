"""Driving a ticket's life cycle in Temporal (by name: the api never imports workflow code):
start the `BpmnProcess` workflow `ticket-<code>` on the active diagram, and complete user
tasks through its `complete_task` update, turning the engine's refusals into HTTP errors."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.services import AppServices
from core import engine_types as et
from core.errors import Forbidden, NotFound, NothingToRetry, ServiceUnavailable, StaleVersion, ValidationFailed
from core.models import OrgUnit, User
from core.models.tickets import Ticket
from core.services import bpmn_versions, inbox, sla
from core.services.actor import Actor

PROCESS_ID = "ticket_lifecycle"


def _temporal(services: AppServices) -> Any:
    if services.temporal is None:
        raise ServiceUnavailable(component="Temporal")
    return services.temporal


async def sla_hours(session: AsyncSession, services: AppServices, ticket: Ticket) -> float:
    """The SLA of the ticket's field, else of its nearest parent field, else the default."""
    return await sla.field_sla_hours(session, ticket.field_id, services.settings.default_sla_hours)


async def start(session: AsyncSession, services: AppServices, ticket: Ticket) -> None:
    """Start the ticket's workflow once (a retried request finds it started)."""
    client = _temporal(services)
    version = await bpmn_versions.active(session, PROCESS_ID)
    hours = await sla_hours(session, services, ticket)
    override = services.settings.sla_override_seconds
    data = {"ticket_code": ticket.code, "field_id": ticket.field_id, "area_id": ticket.area_id,
            "sla_hours": round(override / 3600, 6) if override else hours,
            "sla_duration": f"PT{override}S" if override else f"PT{int(hours * 3600)}S",
            # office hours less holidays, unless clock hours are configured (or a test's override)
            "sla_working_hours": services.settings.sla_calendar == "working_hours" and not override}
    try:
        await client.start_workflow(
            et.BPMN_PROCESS_WORKFLOW,
            et.RunProcessInput(process_id=PROCESS_ID, bpmn_xml=version.content, bpmn_sha256=version.sha256, data=data,
                               business_key=ticket.code),
            id=ticket.workflow_id or f"{services.settings.workflow_id_prefix}{ticket.code}",
            task_queue=services.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # With the worker in this process (`hotline up`), the first workflow task comes back
            # in the start response: no poll round trip before the first inbox write.
            request_eager_start=True)
    except WorkflowAlreadyStartedError:
        return
    except RPCError as exc:
        raise ServiceUnavailable(component="Temporal") from exc
    ticket.bpmn_sha256 = version.sha256  # the diagram version this ticket runs on, for good
    session.add(ticket)


async def complete(services: AppServices, actor: Actor, workflow_id: str, spiff_task_id: str,
                   data: dict[str, Any]) -> et.ProcessState:
    handle = _temporal(services).get_workflow_handle(workflow_id)
    request = et.CompleteTaskInput(task_id=spiff_task_id, actor_username=actor.username, actor_roles=sorted(actor.roles),
                                   actor_unit_path=actor.unit_path, data=data)
    try:
        return await handle.execute_update(et.COMPLETE_TASK_UPDATE, request, result_type=et.ProcessState)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        code = cause.type if isinstance(cause, ApplicationError) else None
        message = str(cause.message if isinstance(cause, ApplicationError) else exc).split(": ", 1)[-1]
        if code == et.INVALID_FORM:
            raise ValidationFailed(details=[{"field": "data", "message": message}]) from exc
        if code == et.NOT_ALLOWED:
            raise Forbidden(details=[{"message": message}]) from exc
        if code in (et.TASK_NOT_OPEN, et.PROCESS_CLOSED):
            raise StaleVersion("task", details=[{"message": message}]) from exc
        raise
    except RPCError as exc:
        raise NotFound("Ticket") from exc


async def check_references(session: AsyncSession, schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Refuse (422, nothing recorded) form values that name a unit or a person who does not
    exist or is inactive: the engine cannot look them up, and its operators would fail on them
    later, leaving the ticket stuck on an incident."""
    problems = []
    for format_, model, column, message in ((et.FORMAT_ORG_UNIT_PATH, OrgUnit, OrgUnit.path, "unknown or inactive unit"),
                                            (et.FORMAT_USERNAME, User, User.username, "unknown or inactive user")):
        fields = [(name, data[name]) for name, field in (schema.get("properties") or {}).items()
                  if field.get("format") == format_ and isinstance(data.get(name), str) and data[name]]
        if not fields:
            continue
        values = {value for _, value in fields}
        known = set((await session.exec(select(column).where(col(column).in_(values), model.active))).all())
        problems += [{"field": f"data.{name}", "message": message} for name, value in fields if value not in known]
    if problems:
        raise ValidationFailed(details=problems)


async def complete_inbox_task(session: AsyncSession, services: AppServices, actor: Actor, task_id: int,
                              data: dict[str, Any]) -> et.ProcessState:
    """Complete an inbox task (API and web pages alike): the actor must be allowed to take it
    now; the ticket's workflow checks the form and records the completion."""
    task, workflow_id = await inbox.task_for_completion(session, actor, task_id)
    spiff_task_id = task.spiff_task_id
    await check_references(session, task.form_schema or {}, data)
    await session.rollback()  # nothing to write here (the workflow's activity closes the task); free the connection
    return await complete(services, actor, workflow_id, spiff_task_id, data)


async def process_state(services: AppServices, workflow_id: str) -> et.ProcessState:
    """What the ticket's process waits for now: open tasks, timers, messages, an incident."""
    handle = _temporal(services).get_workflow_handle(workflow_id)
    try:
        return await handle.query(et.STATE_QUERY, result_type=et.ProcessState)
    except WorkflowQueryFailedError as exc:
        raise ServiceUnavailable(component="Temporal") from exc
    except RPCError as exc:
        raise NotFound("Ticket") from exc


async def retry_incident(services: AppServices, actor: Actor, workflow_id: str) -> et.ProcessState:
    """Run the failed service calls of the ticket's process again (after the cause is fixed)."""
    handle = _temporal(services).get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(et.RETRY_INCIDENT_UPDATE, et.RetryIncidentInput(actor.username),
                                           result_type=et.ProcessState)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in (et.NO_INCIDENT, et.NOT_RETRYABLE):
            raise NothingToRetry(details=[{"message": str(cause.message).split(": ", 1)[-1]}]) from exc
        raise
    except RPCError as exc:
        raise NotFound("Ticket") from exc
