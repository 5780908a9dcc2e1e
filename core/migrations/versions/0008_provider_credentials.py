"""provider credentials: the Zalo OA access and refresh tokens, encrypted, shared by every worker (INT-06)

Zalo's refresh token is single use and rotates on every renewal, so it cannot stay in the
settings: the current pair lives in one row per provider, renewed under a row lock
(`SELECT … FOR UPDATE`) so that two workers never spend the same refresh token. The token
columns hold Fernet tokens, not the provider's values (core/services/provider_credentials.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_credential',
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seed_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('refresh_refused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('provider', name=op.f('pk_provider_credential'))
    )


def downgrade() -> None:
    op.drop_table('provider_credential')
