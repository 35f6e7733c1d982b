"""Configuration from the environment and ``.env`` (see .env.example for every variable)."""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str = ""  # public https URL; when set, webhooks instead of long polling
    webhook_secret: str = ""  # secret token checked on every webhook request; random when empty
    public_base_url: str = ""  # public URL of this server when polling; serves chart links for Zalo
    port: int = 8080
    zalo_bot_token: str = ""
    zalo_base_url: str = "https://bot-api.zaloplatforms.com"
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    admin_telegram_ids: Annotated[list[str], NoDecode] = []
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    log_level: str = "INFO"
    daily_summary_time: time = time(17, 0)
    broadcast_rate: float = 25.0
    progress_stale_days: int = 7  # a unit with no new figures for longer is listed as late
    help_escalate_hours: float = 24.0  # a help request nobody took goes to the commune's officials after this
    outbox_claim_lease: float = 300.0  # seconds before a crashed sender's claimed message is sent again
    user_hash_salt: str = "change-me"  # salts the hashes that stand in for users in logs

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(v) for v in (value or [])]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
