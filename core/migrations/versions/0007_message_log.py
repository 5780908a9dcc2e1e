"""the message log: every SMS and Zalo message in and out, with its history indexes (SMS-05…07,
SMS-09, CRM-09)

Designed for 5 million messages and more (a year of traffic); figures from
`benchmarks/sms_history.py` (5,000,000 rows, embedded PostgreSQL 18, 2 cores, shared_buffers 128 MB):
table 946 MB, indexes ~750 MB; every history query measured p95 <= ~15 ms in-process.

- `(address, created_at, id)`: a person's history newest first (scanned backwards; no DESC
  needed) and its exact count, one index range: busiest number (21,000 messages) page 1 or 5 in
  ~8-10 ms. 244 MB.
- `(created_at, id)`: the unfiltered newest page, keyset pages (`(created_at, id) < (…)` is an
  index condition) and date ranges. 150 MB.
- **No BRIN.** Measured with a BRIN index on created_at *instead of* the btree: a page of one
  day 6.7 ms, a week 40 ms, a month 166 ms (every row of the range is read and sorted to find
  the newest 50), against 0.4-0.5 ms with the btree whatever the range; capped counts 3-4 ms vs
  1.2 ms. BRIN is ~50 kB against 150 MB, but pages need the order only the btree gives.
- Partial unique `(provider, provider_message_id)` and `(idempotency_key)`: the ON CONFLICT
  targets of idempotent recording; partial, so rows without a value cost nothing.
- Partial `(ticket_id)` where linked, `(created_at, id)` where failed (~3% of rows, 4 MB: the
  failed list of a week in 0.4 ms, counted exactly), and `(created_at, id)` for the desk's inbox
  (inbound, no ticket, not set aside: only the waiting rows, ~kilobytes).
- **Not partitioned.** PostgreSQL enforces a unique index on a partitioned table only if it
  includes the partition key, so (provider, provider_message_id) and the idempotency key could not
  be unique across months: a webhook retried across a month boundary, or a send retried a month
  later, would store a second row; keeping them unique would need a separate dedupe table written
  on every message. A person's history would also probe every month's index instead of one
  range. Not measured as a variant: without it every query already meets the target with a
  wide margin and the indexes fit in memory. Partitioning pays for retention (drop a month);
  when a retention rule comes, delete by `created_at` range in batches (the btree serves it), or
  revisit with a dedupe table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('provider_message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('our_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('sender_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('segments', sa.SmallInteger(), nullable=True),
    sa.Column('encoding', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('sms', 'zalo')", name=op.f('ck_message_channel')),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_message_direction')),
    sa.CheckConstraint("status IN ('received', 'queued', 'sent', 'delivered', 'failed')", name=op.f('ck_message_status')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['app_user.id'], name=op.f('fk_message_handled_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_message_ticket_id_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    op.create_index('ix_message_address_created', 'message', ['address', 'created_at', 'id'], unique=False)
    op.create_index('ix_message_created_id', 'message', ['created_at', 'id'], unique=False)
    op.create_index('ix_message_failed', 'message', ['created_at', 'id'], unique=False, postgresql_where=sa.text("status = 'failed'"))
    op.create_index('ix_message_ticket_id', 'message', ['ticket_id'], unique=False, postgresql_where=sa.text('ticket_id IS NOT NULL'))
    op.create_index('ix_message_unhandled', 'message', ['created_at', 'id'], unique=False, postgresql_where=sa.text("direction = 'in' AND ticket_id IS NULL AND handled_at IS NULL"))
    op.create_index('uq_message_idempotency_key', 'message', ['idempotency_key'], unique=True, postgresql_where=sa.text('idempotency_key IS NOT NULL'))
    op.create_index('uq_message_provider_id', 'message', ['provider', 'provider_message_id'], unique=True, postgresql_where=sa.text('provider_message_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_message_provider_id', table_name='message', postgresql_where=sa.text('provider_message_id IS NOT NULL'))
    op.drop_index('uq_message_idempotency_key', table_name='message', postgresql_where=sa.text('idempotency_key IS NOT NULL'))
    op.drop_index('ix_message_unhandled', table_name='message', postgresql_where=sa.text("direction = 'in' AND ticket_id IS NULL AND handled_at IS NULL"))
    op.drop_index('ix_message_failed', table_name='message', postgresql_where=sa.text("status = 'failed'"))
    op.drop_index('ix_message_ticket_id', table_name='message', postgresql_where=sa.text('ticket_id IS NOT NULL'))
    op.drop_index('ix_message_created_id', table_name='message')
    op.drop_index('ix_message_address_created', table_name='message')
    op.drop_table('message')
