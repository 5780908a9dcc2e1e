"""Administration of the organization and the map: units (organizations and departments, PERM-06, 07) and areas (CRM-26…29)."""

from __future__ import annotations

from ui.pages.common import page_router

router = page_router()
