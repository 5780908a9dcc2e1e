"""message templates: administrators' texts of the SMS the system sends (issue 6); a person's own
SMS text moves to the same jinja2 syntax ({code} -> {{ code }}, {title} -> {{ title }})

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_template',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_message_template_updated_by_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_message_template'))
    )
    op.execute("UPDATE user_notification_setting SET sms_text = "
               "replace(replace(sms_text, '{code}', '{{ code }}'), '{title}', '{{ title }}') WHERE sms_text IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE user_notification_setting SET sms_text = "
               "replace(replace(sms_text, '{{ code }}', '{code}'), '{{ title }}', '{title}') WHERE sms_text IS NOT NULL")
    op.drop_table('message_template')
