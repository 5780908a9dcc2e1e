"""Auto-dispatch rules at the desk (CRM-37)."""

from __future__ import annotations

from ui.pages.common import page_router

router = page_router()
