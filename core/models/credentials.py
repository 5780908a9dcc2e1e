"""Credentials that outside providers hand out and rotate (INT-06): one row per provider.

Today only Zalo's Official Account tokens live here: an access token that lasts ~25 hours and a
single-use refresh token that Zalo replaces on every renewal, so the pair must be kept where every
worker sees it and written before the new access token is used (core/services/provider_credentials.py).

The token columns hold Fernet tokens (encrypted and authenticated with a key derived from
HOTLINE_SECRET_KEY), never the provider's values in clear. `seed_fingerprint` is a keyed hash of the
tokens the settings named when the row was last seeded: a different value in the settings means an
operator issued new tokens and the row is seeded again from them. `refresh_refused_at` is set when
the provider refused the stored refresh token, so workers stop asking until an operator acts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import tz_field, updated_at_field


class ProviderCredential(SQLModel, table=True):
    __tablename__ = "provider_credential"

    provider: str = Field(primary_key=True, max_length=40, description="gateway name, e.g. zalo")
    access_token: str | None = Field(default=None, sa_type=sa.Text, description="encrypted")
    refresh_token: str | None = Field(default=None, sa_type=sa.Text, description="encrypted")
    access_expires_at: datetime | None = tz_field()
    seed_fingerprint: str | None = Field(default=None, max_length=64,
                                         description="keyed hash of the tokens the settings seeded the row with")
    refresh_refused_at: datetime | None = tz_field()
    updated_at: datetime = updated_at_field()
