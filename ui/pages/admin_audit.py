"""The system log (audit_log) for administrators and inspectors."""

from __future__ import annotations

from ui.pages.common import page_router

router = page_router()
