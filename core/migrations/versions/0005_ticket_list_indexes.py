"""indexes for the ticket lists: keyset pages (id descending) within a status or a unit, and
created-date ranges (CRM-03, CRM-11, CRM-34…36)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ticket_status_id', 'ticket', ['status', 'id'], unique=False)
    op.create_index('ix_ticket_unit_id', 'ticket', ['current_unit_id', 'id'], unique=False)
    op.create_index('ix_ticket_created_at', 'ticket', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_created_at', table_name='ticket')
    op.drop_index('ix_ticket_unit_id', table_name='ticket')
    op.drop_index('ix_ticket_status_id', table_name='ticket')
