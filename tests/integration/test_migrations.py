"""One linear migration history that agrees with the models, and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import core.models
from core import migrations
from core.db import make_sync_engine


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_sync_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, core.models.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; add a revision: {diff}"


def test_history_is_linear(database_url: str) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config(database_url))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert not isinstance(revision.down_revision, tuple), f"merge revision {revision.revision}"


def test_downgrade_to_base_and_back(database_url: str) -> None:
    from alembic import command

    cfg = migrations.alembic_config(database_url)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    engine = make_sync_engine(database_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(migrations.current_heads(database_url))
    engine.dispose()
