"""Starting notification deliveries (durable Temporal workflows, started by name)."""

from __future__ import annotations

import hashlib

from temporalio.common import WorkflowIDReusePolicy

from api.services import AppServices
from core.commands import DELIVER_NOTIFICATION_WORKFLOW
from core.errors import ServiceUnavailable
from core.i18n import translate
from core.models import User
from core.ports import Notification


async def deliver(services: AppServices, message: Notification) -> None:
    if services.temporal is None:
        raise ServiceUnavailable(component="Temporal")
    await services.temporal.start_workflow(
        DELIVER_NOTIFICATION_WORKFLOW, message, id=f"notify-{message.key}", task_queue=services.settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def send_password_reset(services: AppServices, user: User, token: str) -> None:
    settings = services.settings
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    body = translate("Your hotline 1022 password reset link: {url}/reset-password?token={token} (valid for {minutes} minutes). "
                     "If you did not ask for it, ignore this message.", user.locale,
                     url=base.rstrip("/"), token=token, minutes=settings.reset_token_ttl_minutes)
    key = "reset-" + hashlib.sha256(token.encode()).hexdigest()[:24]
    await deliver(services, Notification(
        key=key, recipient_user_id=user.id, phone=user.phone, email=user.email,
        subject=translate("Password reset", user.locale), body=body, kind="password_reset", sensitive=True,
    ))
