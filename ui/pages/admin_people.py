"""Administration of people and access: users (PERM-08, 09) with their SMS notification settings (PERM-10), roles and their menus (PERM-04), permission groups (PERM-05)."""

from __future__ import annotations

from ui.pages.common import page_router

router = page_router()
