"""Administration of people and access: users (PERM-08, 09) with their SMS notification settings (PERM-10), roles and their menus (PERM-04), permission groups (PERM-05)."""

from __future__ import annotations

from ui.pages import admin_people_groups, admin_people_roles, admin_people_sms, admin_people_users
from ui.pages.common import page_router

router = page_router()
for pages in (admin_people_users.router, admin_people_sms.router, admin_people_roles.router, admin_people_groups.router):
    router.include_router(pages)
