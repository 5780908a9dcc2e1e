"""Typed settings. The only module that reads the environment (HOTLINE_ prefix)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
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
    ari_url: str | None = Field(default=None, description="Asterisk ARI, e.g. http://127.0.0.1:8088 (none: telephony off)")
    ari_user: str | None = None
    ari_password: SecretStr | None = None
    ari_app: str = Field(default="hotline", description="the Stasis application owning the 1022 number")
    ari_agent_endpoint: str = Field(default="PJSIP/{extension}", description="how an agent's phone is dialled")
    ari_trunk_endpoint: str = Field(default="PJSIP/{number}@trunk",
                                    description="how a citizen is dialled (click-to-call, call-back)")
    ari_caller_id: str = Field(default="1022", description="the number citizens see when we call them")
    desk_shifts: str = Field(default="06:00-14:00,14:00-22:00,22:00-06:00",
                             description="the desk's shifts, local HH:MM-HH:MM, comma-separated (OPS-04)")
    shift_grace_minutes: int = Field(default=30, ge=0, le=720,
                                     description="an agent still logged in this long after their shift is logged out")

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

    # --- Messaging (issue 6): SMS gateways and the Zalo Official Account, wired by messaging/ ---
    sms_gateway: Literal["console", "twilio", "http"] = Field(
        default="console", description="SMS provider: console (development: logged, not sent), twilio, or http "
                                        "(a brandname HTTP API described by the HOTLINE_BRANDNAME_* settings)")
    sms_status_callback_url: str | None = Field(
        default=None, description="delivery-report webhook given to the provider when a message names none")
    # Twilio (official SDK)
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = Field(default=None, description="E.164 number or registered sender id")
    twilio_messaging_service_sid: str | None = Field(default=None, description="used instead of the From number")
    twilio_api_base: str = Field(default="https://api.twilio.com",
                                 description="where the SDK's api.twilio.com requests go (tests: a local double)")
    twilio_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Generic HTTP brandname provider: a new provider is configuration (messaging/http_brandname.py)
    brandname_url: str | None = None
    brandname_method: Literal["POST", "PUT", "GET"] = "POST"
    brandname_auth: Literal["none", "basic", "bearer", "header"] = "none"
    brandname_username: str | None = None
    brandname_password: SecretStr | None = None
    brandname_token: SecretStr | None = Field(default=None, description="bearer token, or the auth header's value")
    brandname_auth_header: str = "X-API-Key"
    brandname_api_key: SecretStr | None = Field(default=None, description="the {api_key} placeholder")
    brandname_api_secret: SecretStr | None = Field(default=None, description="the {api_secret} placeholder")
    brandname_sender: str = Field(default="", description="registered brandname, the {sender} placeholder")
    brandname_body_format: Literal["json", "form"] = "json"
    brandname_body_template: str = Field(
        default='{"to": "{to}", "text": "{body}", "sender": "{sender}", "request_id": "{key}"}',
        description="JSON object; placeholders {to} {to_e164} {body} {sender} {key} {callback} {api_key} {api_secret}")
    brandname_response_id_path: str = "message_id"
    brandname_response_code_path: str | None = None
    brandname_accepted_codes: list[str] = Field(default_factory=lambda: ["0"])
    brandname_duplicate_codes: list[str] = Field(default_factory=list,
                                                 description="codes meaning 'already taken under this request id'")
    brandname_permanent_codes: list[str] = Field(default_factory=list)
    brandname_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    brandname_webhook_secret: SecretStr | None = Field(default=None,
                                                       description="HMAC-SHA256 key of inbound and status webhooks")
    brandname_signature_header: str = "X-Signature"
    brandname_inbound_fields: dict[str, str] = Field(
        default_factory=lambda: {"id": "id", "from": "from", "to": "to", "text": "text"})
    brandname_status_fields: dict[str, str] = Field(
        default_factory=lambda: {"id": "id", "status": "status", "error_code": "error_code",
                                 "error_message": "error_message"})
    brandname_status_values: dict[str, str] = Field(default_factory=dict,
                                                    description="provider status -> queued|sent|delivered|failed")
    # Zalo Official Account (INT-06); the channel is on when the OA secret key and an access token
    # or a refresh token are set. Tokens are kept (encrypted) in the database and renewed there.
    zalo_app_id: str | None = None
    zalo_oa_secret_key: SecretStr | None = Field(default=None, description="OA secret key: webhook signatures")
    zalo_access_token: SecretStr | None = Field(
        default=None, description="OA access token: seeds the token store (optional with a refresh token)")
    zalo_app_secret_key: SecretStr | None = Field(
        default=None, description="the Zalo app's secret key (OAuth token renewal), not the OA secret key")
    zalo_refresh_token: SecretStr | None = Field(
        default=None, description="OA refresh token: seeds the token store; a new value re-seeds it")
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = Field(default="https://oauth.zaloapp.com",
                                 description="where access tokens are renewed (tests: a local double)")
    zalo_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Data
    area_scheme: AreaScheme = AreaScheme.y2025
    province_code: str = "75"  # Đồng Nai

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("desk_shifts")
    @classmethod
    def _shifts_readable(cls, value: str) -> str:
        from core.services.shifts import parse_shifts

        parse_shifts(value)
        return value

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

    @model_validator(mode="after")
    def _check_messaging(self) -> "Settings":
        """A chosen gateway must be usable wherever it runs; production talks to providers over TLS."""
        problems = []
        if self.sms_gateway == "twilio":
            if not (self.twilio_account_sid and self.twilio_auth_token and self.twilio_auth_token.get_secret_value()):
                problems.append("HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN must be set for Twilio")
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                problems.append("HOTLINE_TWILIO_FROM_NUMBER or HOTLINE_TWILIO_MESSAGING_SERVICE_SID must be set")
        if self.sms_gateway == "http" and not self.brandname_url:
            problems.append("HOTLINE_BRANDNAME_URL must be set for the http SMS gateway")
        if bool(self.zalo_access_token or self.zalo_refresh_token) != bool(self.zalo_oa_secret_key):
            problems.append("HOTLINE_ZALO_OA_SECRET_KEY and HOTLINE_ZALO_ACCESS_TOKEN (or HOTLINE_ZALO_REFRESH_TOKEN) "
                            "go together")
        if self.zalo_refresh_token and not (self.zalo_app_id and self.zalo_app_secret_key):
            problems.append("HOTLINE_ZALO_REFRESH_TOKEN needs HOTLINE_ZALO_APP_ID and HOTLINE_ZALO_APP_SECRET_KEY")
        if self.env is Environment.production:
            urls = {"HOTLINE_TWILIO_API_BASE": self.twilio_api_base, "HOTLINE_ZALO_API_BASE": self.zalo_api_base,
                    "HOTLINE_ZALO_OAUTH_BASE": self.zalo_oauth_base,
                    "HOTLINE_BRANDNAME_URL": self.brandname_url or "https://"}
            problems += [f"{name} must be an https:// URL in production" for name, url in urls.items()
                         if not url.startswith("https://")]
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
