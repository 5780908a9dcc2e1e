"""Administration of fields (lĩnh vực, CRM-20…25): tree and table, create plain or from the default catalogue, edit, icon, delete (twice confirmed for a parent), CSV import, SLA hours per field (PERM-11)."""

from __future__ import annotations

from ui.pages.common import page_router

router = page_router()
