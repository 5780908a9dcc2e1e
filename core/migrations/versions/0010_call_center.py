"""call center (issue 7): call records, queue events (queue_log meaning), agent states, and the
routing of inbound calls (queues and members, blacklist, routes with opening hours, IVR menus)

Indexes follow the message log's measured design (0007): a person's calls by number newest first
and the newest calls / date ranges are single btree ranges with keyset pages; missed calls to call
back and the live calls are small partial indexes; queue events are read by time range, per queue
and per agent for the reports.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_blacklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('play_message', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_blacklist')),
    sa.UniqueConstraint('number', name=op.f('uq_call_blacklist_number'))
    )
    op.create_table('call_queue',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('strategy', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('ring_timeout_s', sa.Integer(), nullable=False),
    sa.Column('retry_s', sa.Integer(), nullable=False),
    sa.Column('max_wait_s', sa.Integer(), nullable=True),
    sa.Column('overflow', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('wrapup_s', sa.Integer(), nullable=False),
    sa.Column('join_empty', sa.Boolean(), nullable=False),
    sa.Column('leave_when_empty', sa.Boolean(), nullable=False),
    sa.Column('announce_position_every_s', sa.Integer(), nullable=True),
    sa.Column('service_level_s', sa.Integer(), nullable=False),
    sa.Column('join_announcement', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('moh_class', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('record', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_call_queue'))
    )
    op.create_table('call_route',
    sa.Column('dialed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('open_destination', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('closed_destination', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('open_hours', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('closed_days', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('closed_announcement', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('dialed', name=op.f('pk_call_route'))
    )
    op.create_table('ivr_menu',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('greeting', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('timeout_s', sa.Integer(), nullable=False),
    sa.Column('max_tries', sa.Integer(), nullable=False),
    sa.Column('timeout_destination', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('invalid_announcement', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_ivr_menu'))
    )
    op.create_table('agent_state',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('call_uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('logged_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_agent_state_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_state'))
    )
    op.create_index(op.f('ix_agent_state_extension'), 'agent_state', ['extension'], unique=False)
    op.create_table('call_queue_member',
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('penalty', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['queue'], ['call_queue.name'], name=op.f('fk_call_queue_member_queue_call_queue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_call_queue_member_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('queue', 'user_id', name=op.f('pk_call_queue_member'))
    )
    op.create_table('queue_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('call_uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('data1', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('data2', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('data3', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('data4', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('data5', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['app_user.id'], name=op.f('fk_queue_event_agent_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_event')),
    sa.UniqueConstraint('event_key', name=op.f('uq_queue_event_event_key'))
    )
    op.create_index('ix_queue_event_agent_at', 'queue_event', ['agent_id', 'at'], unique=False, postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.create_index('ix_queue_event_at', 'queue_event', ['at', 'id'], unique=False)
    op.create_index('ix_queue_event_queue_at', 'queue_event', ['queue', 'at'], unique=False)
    op.create_table('call',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('citizen_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('citizen_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('dialed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('disposition', sa.String(length=16), nullable=True),
    sa.Column('hangup_by', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('cause', sa.Integer(), nullable=True),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('ivr_path', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ring_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wait_seconds', sa.Float(), nullable=True),
    sa.Column('talk_seconds', sa.Float(), nullable=True),
    sa.Column('recording', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('recording_file', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('recording_bytes', sa.BigInteger(), nullable=True),
    sa.Column('transfer_to', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('overflow_to', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('callback_of_id', sa.BigInteger(), nullable=True),
    sa.Column('called_back_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_call_direction')),
    sa.ForeignKeyConstraint(['agent_id'], ['app_user.id'], name=op.f('fk_call_agent_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['callback_of_id'], ['call.id'], name=op.f('fk_call_callback_of_id_call'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_call_ticket_id_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call')),
    sa.UniqueConstraint('uniqueid', name=op.f('uq_call_uniqueid'))
    )
    op.create_index('ix_call_agent_started', 'call', ['agent_id', 'started_at'], unique=False, postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.create_index('ix_call_live', 'call', ['state'], unique=False, postgresql_where=sa.text("state <> 'ended'"))
    op.create_index('ix_call_missed', 'call', ['started_at', 'id'], unique=False, postgresql_where=sa.text("direction = 'in' AND answered_at IS NULL AND ended_at IS NOT NULL AND called_back_at IS NULL AND disposition IN ('abandoned', 'timeout', 'no_agent', 'exit_key', 'closed')"))
    op.create_index('ix_call_number_started', 'call', ['citizen_number', 'started_at', 'id'], unique=False)
    op.create_index('ix_call_started_id', 'call', ['started_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_call_started_id', table_name='call')
    op.drop_index('ix_call_number_started', table_name='call')
    op.drop_index('ix_call_missed', table_name='call', postgresql_where=sa.text("direction = 'in' AND answered_at IS NULL AND ended_at IS NOT NULL AND called_back_at IS NULL AND disposition IN ('abandoned', 'timeout', 'no_agent', 'exit_key', 'closed')"))
    op.drop_index('ix_call_live', table_name='call', postgresql_where=sa.text("state <> 'ended'"))
    op.drop_index('ix_call_agent_started', table_name='call', postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.drop_table('call')
    op.drop_index('ix_queue_event_queue_at', table_name='queue_event')
    op.drop_index('ix_queue_event_at', table_name='queue_event')
    op.drop_index('ix_queue_event_agent_at', table_name='queue_event', postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.drop_table('queue_event')
    op.drop_table('call_queue_member')
    op.drop_index(op.f('ix_agent_state_extension'), table_name='agent_state')
    op.drop_table('agent_state')
    op.drop_table('ivr_menu')
    op.drop_table('call_route')
    op.drop_table('call_queue')
    op.drop_table('call_blacklist')
