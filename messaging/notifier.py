"""The notification port (`core.ports.Notifier`) over a messaging gateway: the SMS that tell
officers a task waits for them (PERM-10) and tell citizens their report was received or
resolved go out through the configured provider (a citizen who wrote on Zalo is told on Zalo,
through the OA), and each is written to the message log
(SMS-05) — queued before the provider is called, then sent (with the provider's id, which its
delivery reports update) or failed. Email has no provider yet: it goes to `fallback`.

A secret (a password-reset link) is never written to the log, and reaches the console gateway's
log only outside production."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.ports import MessageGateway, Notification, Notifier, OutboundMessage, PermanentSendError
from messaging.outbound import send_logged

HIDDEN = "[nội dung bảo mật không lưu]"  # what the log keeps of a secret


@dataclass
class GatewayNotifier:
    gateway: MessageGateway
    sessions: async_sessionmaker[AsyncSession]
    fallback: Notifier
    show_sensitive: bool = False  # the console gateway may print secrets (development only)
    zalo: MessageGateway | None = None  # the Zalo OA, when configured

    async def send(self, message: Notification) -> str:
        if message.zalo_user_id:
            if self.zalo is None:
                raise PermanentSendError("Zalo OA is not configured", code="no_zalo")
            gateway, to = self.zalo, message.zalo_user_id
        elif message.phone:
            gateway, to = self.gateway, message.phone
        else:
            return await self.fallback.send(message)
        body = message.body
        if message.sensitive and gateway.name == "console" and not self.show_sensitive:
            body = "[hidden in production]"
        result = await send_logged(self.sessions, gateway, OutboundMessage(key=message.key, to=to, body=body),
                                   ticket_id=message.ticket_id, logged_body=HIDDEN if message.sensitive else None)
        return f"{result.provider}:{result.provider_message_id}"
