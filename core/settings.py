"""Typed settings. The only module that reads the environment (HOTLINE_ prefix)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-development-only-secret-key"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class AreaScheme(StrEnum):
    """Which administrative map the area tree is seeded from."""

    y2025 = "2025"  # province -> commune/ward, in force from 1 Jul 2025
    legacy = "legacy"  # province -> district -> commune, before 1 Jul 2025


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("hotline1022", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=None, extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = Field(default_factory=default_data_dir)

    # Outside systems; unset means "start the embedded default".
    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "hotline"
    meilisearch_url: str | None = None
    meilisearch_key: SecretStr | None = None
    ari_url: str | None = None
    ari_user: str | None = None
    ari_password: SecretStr | None = None
    sms_gateway: str = "console"

    # Web
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    token_ttl_minutes: int = Field(default=60, ge=1, le=60 * 24)
    session_ttl_minutes: int = Field(default=8 * 60, ge=5, le=60 * 24 * 7)
    reset_token_ttl_minutes: int = Field(default=30, ge=5, le=24 * 60)
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    login_attempts_per_minute: int = Field(default=30, ge=0, le=100000, description="per client address; 0 = unlimited")
    public_search_per_minute: int = Field(default=120, ge=0, le=100000,
                                          description="public knowledge-base searches per client address; 0 = unlimited")
    lockout_threshold: int = Field(default=10, ge=3, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

    # Ticket life cycle
    workflow_id_prefix: str = Field(default="ticket-", pattern=r"^[a-z0-9\-]{1,32}$",
                                    description="Temporal workflow id = prefix + ticket code")
    workflow_sandbox: bool = Field(
        default=False, description="run workflows in Temporal's sandbox (catches non-determinism at run time, ~15% "
                                   "more CPU); replays (CI, `hotline replay`) always use the sandbox")
    workflow_cache_size: int = Field(default=2000, ge=10, le=100000,
                                     description="tickets kept in worker memory between steps (others are replayed)")
    default_sla_hours: int = Field(default=72, ge=1, le=8760, description="when a field has no SLA of its own")
    sla_override_seconds: int | None = Field(default=None, ge=1, le=86400,
                                             description="tests and demos only: every ticket's SLA in seconds")
    sla_calendar: Literal["working_hours", "calendar_hours"] = Field(
        default="calendar_hours", description="SLA hours unless a field says: clock hours, or office hours less holidays")
    sla_extra_holidays: list[date] = Field(default_factory=list,
                                           description="days off beyond core/data/holidays_vn.json (JSON list of dates)")
    sla_reminder_fraction: float = Field(default=0.75, gt=0, lt=1,
                                         description="remind the officer and the unit when this share of the SLA is used")

    # Ticket attachments (photos, PDFs, short recordings), stored under data_dir/attachments
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024,
                                      description="largest accepted file, checked while it streams in")
    attachment_max_per_ticket: int = Field(default=10, ge=1, le=1000)

    # Data
    area_scheme: AreaScheme = AreaScheme.y2025
    province_code: str = "75"  # Đồng Nai

    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_defaults_in_production(self) -> "Settings":
        if self.env is Environment.production:
            problems = []
            key = self.secret_key.get_secret_value()
            if key == DEFAULT_SECRET_KEY or len(key) < 32:
                problems.append("HOTLINE_SECRET_KEY must be set to a random value of at least 32 characters")
            if self.sla_override_seconds is not None:
                problems.append("HOTLINE_SLA_OVERRIDE_SECONDS is for tests and demos, not production")
            if self.ari_url and not (self.ari_password and self.ari_password.get_secret_value()):
                problems.append("HOTLINE_ARI_PASSWORD must be set when HOTLINE_ARI_URL is set")
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @cached_property
    def pg_dir(self) -> Path:
        return self.data_dir / "postgres"

    @cached_property
    def temporal_db_file(self) -> Path:
        return self.data_dir / "temporal" / "temporal.sqlite"

    @cached_property
    def search_dir(self) -> Path:
        return self.data_dir / "search"

    @cached_property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @cached_property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
