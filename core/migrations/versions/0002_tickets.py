"""tickets, events, human tasks, notifications, bpmn versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bpmn_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deployed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bpmn_version')),
    sa.UniqueConstraint('sha256', name=op.f('uq_bpmn_version_sha256'))
    )
    op.create_index(op.f('ix_bpmn_version_process_id'), 'bpmn_version', ['process_id'], unique=False)
    op.create_table('ticket_counter',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_ticket_counter'))
    )
    op.create_table('auto_dispatch_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('field_ids', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_auto_dispatch_rule_area_id_area'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_auto_dispatch_rule_unit_id_org_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_dispatch_rule'))
    )
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('source_ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('citizen_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('citizen_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('citizen_id_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('legal_basis', sa.String(length=20), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('current_unit_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('bpmn_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_ticket_area_id_area'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_ticket_assignee_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_ticket_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['current_unit_id'], ['org_unit.id'], name=op.f('fk_ticket_current_unit_id_org_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['field_id'], ['ticket_field.id'], name=op.f('fk_ticket_field_id_ticket_field'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket')),
    sa.UniqueConstraint('code', name=op.f('uq_ticket_code')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ticket_idempotency_key'))
    )
    op.create_index(op.f('ix_ticket_area_id'), 'ticket', ['area_id'], unique=False)
    op.create_index(op.f('ix_ticket_citizen_phone'), 'ticket', ['citizen_phone'], unique=False)
    op.create_index(op.f('ix_ticket_due_at'), 'ticket', ['due_at'], unique=False)
    op.create_index(op.f('ix_ticket_field_id'), 'ticket', ['field_id'], unique=False)
    op.create_index('ix_ticket_status_created', 'ticket', ['status', 'created_at'], unique=False)
    op.create_index('ix_ticket_unit_status', 'ticket', ['current_unit_id', 'status'], unique=False)
    op.create_table('human_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('bpmn_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('lane', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('candidate_unit_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('form_schema', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_human_task_assignee_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['candidate_unit_id'], ['org_unit.id'], name=op.f('fk_human_task_candidate_unit_id_org_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['completed_by_id'], ['app_user.id'], name=op.f('fk_human_task_completed_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_human_task_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_human_task')),
    sa.UniqueConstraint('ticket_id', 'spiff_task_id', name='uq_human_task_spiff')
    )
    op.create_index(op.f('ix_human_task_assignee_id'), 'human_task', ['assignee_id'], unique=False)
    op.create_index('ix_human_task_inbox', 'human_task', ['status', 'lane', 'candidate_unit_id'], unique=False)
    op.create_index(op.f('ix_human_task_ticket_id'), 'human_task', ['ticket_id'], unique=False)
    op.create_table('notification',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_notification_ticket_id_ticket'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_dedupe_key'))
    )
    op.create_index('ix_notification_user_unread', 'notification', ['user_id', 'read_at'], unique=False)
    op.create_table('ticket_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_ticket_event_actor_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_event_ticket_id_ticket'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_ticket_event_unit_id_org_unit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_event')),
    sa.UniqueConstraint('ticket_id', 'dedupe_key', name='uq_ticket_event_dedupe')
    )
    op.create_index(op.f('ix_ticket_event_ticket_id'), 'ticket_event', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_event_ticket_id'), table_name='ticket_event')
    op.drop_table('ticket_event')
    op.drop_index('ix_notification_user_unread', table_name='notification')
    op.drop_table('notification')
    op.drop_index(op.f('ix_human_task_ticket_id'), table_name='human_task')
    op.drop_index('ix_human_task_inbox', table_name='human_task')
    op.drop_index(op.f('ix_human_task_assignee_id'), table_name='human_task')
    op.drop_table('human_task')
    op.drop_index('ix_ticket_unit_status', table_name='ticket')
    op.drop_index('ix_ticket_status_created', table_name='ticket')
    op.drop_index(op.f('ix_ticket_field_id'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_due_at'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_citizen_phone'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_area_id'), table_name='ticket')
    op.drop_table('ticket')
    op.drop_table('auto_dispatch_rule')
    op.drop_table('ticket_counter')
    op.drop_index(op.f('ix_bpmn_version_process_id'), table_name='bpmn_version')
    op.drop_table('bpmn_version')
