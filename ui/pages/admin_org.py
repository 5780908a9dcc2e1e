"""Administration of the organization and the map: units (organizations and departments, PERM-06, 07) and areas
(CRM-26…29). The pages live in admin_org_units and admin_org_areas; admin_org_tree holds what they share."""

from __future__ import annotations

from ui.pages import admin_org_areas, admin_org_units
from ui.pages.common import page_router

router = page_router()
router.include_router(admin_org_units.router)
router.include_router(admin_org_areas.router)
