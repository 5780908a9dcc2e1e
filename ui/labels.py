"""How a ticket's status and channel read on every page and in every export: one table each.
Keys are the enums (StrEnum: a plain "new" or "call" finds its label too)."""

from __future__ import annotations

from core.models.tickets import Channel, TicketStatus
from ui.i18n import N_

STATUS_LABELS = {
    TicketStatus.new: N_("New"),
    TicketStatus.dispatched: N_("Dispatched to a unit"),
    TicketStatus.assigned: N_("Being processed"),
    TicketStatus.pending_approval: N_("Waiting for approval"),
    TicketStatus.resolved: N_("Resolved"),
    TicketStatus.spam: N_("Spam"),
    TicketStatus.out_of_area: N_("Out of area"),
    TicketStatus.closed: N_("Closed"),
    TicketStatus.deleted: N_("Deleted"),
}
CHANNEL_LABELS = {
    Channel.call: N_("Phone call"),
    Channel.sms: N_("SMS"),
    Channel.zalo: N_("Zalo"),
    Channel.app: N_("Mobile app"),
    Channel.web: N_("Web portal"),
    Channel.desk: N_("In person at the desk"),
    Channel.open311: N_("Open311"),
    Channel.import_: N_("Imported"),
}
