"""knowledge base (questions, answers, attachments; revision vs indexed revision for the search
index) and the API tokens admins issue to outside systems (KB-01…11)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_api_token_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table('kb_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('type_doc', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('field_id', sa.Integer(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('source_ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('indexed_revision', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_kb_question_area_id_area'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_kb_question_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['field_id'], ['ticket_field.id'], name=op.f('fk_kb_question_field_id_ticket_field'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_kb_question_updated_by_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_question')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_kb_question_source_ref'))
    )
    op.create_index(op.f('ix_kb_question_area_id'), 'kb_question', ['area_id'], unique=False)
    op.create_index(op.f('ix_kb_question_field_id'), 'kb_question', ['field_id'], unique=False)
    op.create_index('ix_kb_question_type_status', 'kb_question', ['type_doc', 'status'], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_kb_question_unindexed', 'kb_question', ['id'], unique=False, postgresql_where=sa.text('indexed_revision <> revision'))
    op.create_table('kb_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('heading', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_kb_answer_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['kb_question.id'], name=op.f('fk_kb_answer_question_id_kb_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_answer'))
    )
    op.create_index(op.f('ix_kb_answer_question_id'), 'kb_answer', ['question_id'], unique=False)
    op.create_table('kb_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['kb_answer.id'], name=op.f('fk_kb_attachment_answer_id_kb_answer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], name=op.f('fk_kb_attachment_uploaded_by_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_attachment')),
    sa.UniqueConstraint('answer_id', 'sha256', name='uq_kb_attachment_answer_sha256')
    )
    op.create_index(op.f('ix_kb_attachment_answer_id'), 'kb_attachment', ['answer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_kb_attachment_answer_id'), table_name='kb_attachment')
    op.drop_table('kb_attachment')
    op.drop_index(op.f('ix_kb_answer_question_id'), table_name='kb_answer')
    op.drop_table('kb_answer')
    op.drop_index('ix_kb_question_unindexed', table_name='kb_question', postgresql_where=sa.text('indexed_revision <> revision'))
    op.drop_index('ix_kb_question_type_status', table_name='kb_question', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index(op.f('ix_kb_question_field_id'), table_name='kb_question')
    op.drop_index(op.f('ix_kb_question_area_id'), table_name='kb_question')
    op.drop_table('kb_question')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
