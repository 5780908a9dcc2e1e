"""the message log: every SMS and Zalo message in and out, with its history indexes (SMS-05…07,
SMS-09, CRM-09)

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
    op.create_index('ix_message_ticket_id', 'message', ['ticket_id'], unique=False, postgresql_where=sa.text('ticket_id IS NOT NULL'))
    op.create_index('ix_message_unhandled', 'message', ['created_at', 'id'], unique=False, postgresql_where=sa.text("direction = 'in' AND ticket_id IS NULL AND handled_at IS NULL"))
    op.create_index('uq_message_idempotency_key', 'message', ['idempotency_key'], unique=True, postgresql_where=sa.text('idempotency_key IS NOT NULL'))
    op.create_index('uq_message_provider_id', 'message', ['provider', 'provider_message_id'], unique=True, postgresql_where=sa.text('provider_message_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_message_provider_id', table_name='message', postgresql_where=sa.text('provider_message_id IS NOT NULL'))
    op.drop_index('uq_message_idempotency_key', table_name='message', postgresql_where=sa.text('idempotency_key IS NOT NULL'))
    op.drop_index('ix_message_unhandled', table_name='message', postgresql_where=sa.text("direction = 'in' AND ticket_id IS NULL AND handled_at IS NULL"))
    op.drop_index('ix_message_ticket_id', table_name='message', postgresql_where=sa.text('ticket_id IS NOT NULL'))
    op.drop_index('ix_message_created_id', table_name='message')
    op.drop_index('ix_message_address_created', table_name='message')
    op.drop_table('message')
