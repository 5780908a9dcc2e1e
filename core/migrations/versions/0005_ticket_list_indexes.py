"""indexes for the ticket lists: keyset pages (id descending) within a status or a unit, and
created-date ranges, and trigram indexes (pg_trgm) for the text search (CRM-03, CRM-11, CRM-34…36)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TEXT_COLUMNS = ('code', 'citizen_name', 'citizen_phone', 'address', 'description')


def upgrade() -> None:
    op.create_index('ix_ticket_status_id', 'ticket', ['status', 'id'], unique=False)
    op.create_index('ix_ticket_unit_id', 'ticket', ['current_unit_id', 'id'], unique=False)
    op.create_index('ix_ticket_created_at', 'ticket', ['created_at'], unique=False)
    op.create_index('ix_ticket_overdue_id', 'ticket', ['id'], unique=False, postgresql_where=sa.text('overdue'))
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database owner may create it.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for column in TEXT_COLUMNS:
        op.create_index(f'ix_ticket_{column}_trgm', 'ticket', [column], unique=False, postgresql_using='gin',
                        postgresql_ops={column: 'gin_trgm_ops'})


def downgrade() -> None:
    for column in TEXT_COLUMNS:
        op.drop_index(f'ix_ticket_{column}_trgm', table_name='ticket')
    op.drop_index('ix_ticket_overdue_id', table_name='ticket')
    op.drop_index('ix_ticket_created_at', table_name='ticket')
    op.drop_index('ix_ticket_unit_id', table_name='ticket')
    op.drop_index('ix_ticket_status_id', table_name='ticket')
