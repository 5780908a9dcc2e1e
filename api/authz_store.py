"""Casbin policies persisted in PostgreSQL through casbin-sqlalchemy-adapter (our table)."""

from __future__ import annotations

from casbin_sqlalchemy_adapter import Adapter
from sqlalchemy import Engine

from core.authz import Authorizer, build_authorizer
from core.models import CasbinRule


def load_authorizer(sync_engine: Engine) -> Authorizer:
    adapter = Adapter(sync_engine, db_class=CasbinRule, create_all_models=False)
    return build_authorizer(adapter)
