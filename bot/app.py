"""The one place that wires settings, database, content, router and channels together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import cached_property

from bot.health import Health
from bot.router import Router
from bot.settings import Settings
from db.locks import startup_lock
from db.migrate import upgrade_async
from db.progress import seed_departments
from db.reports import seed_categories
from db.session import create_engine, make_sessionmaker
from db.units import seed_units
from handlers import build_registry
from handlers.registry import Registry, Services

log = logging.getLogger(__name__)


class App:
    """Long-lived services shared by every channel and CLI command."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = create_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        # Every feature registers here, also for CLI commands that never route a message: they see
        # the features' parts too (the daily summary's lines).
        self.registry: Registry = build_registry()
        self.services = Services(self.settings)  # what handlers may use: settings, kb, matcher
        self.health = Health()  # the channels' and background loops' last success (/healthz)
        # SQLite lets one writer in at a time; a second writer polls (db.session: async retries
        # after 1 ms, doubling to 50 ms), so concurrent writers in one process queue here
        # instead. SQLite runs in the loop, so the router's transaction normally completes
        # without yielding and this lock is uncontended; it matters when a handler awaits
        # mid-transaction. Keep the critical section free of needless awaits: every hand-over
        # of a contended lock costs a loop iteration. PostgreSQL needs no such lock.
        self.write_lock = (asyncio.Lock() if self.engine.dialect.name == "sqlite"
                           else contextlib.nullcontext())

    async def prepare(self) -> None:
        """Apply migrations and seed reference data; safe on every start, also by several
        processes starting together (one runs them while the others wait, then find nothing to do)."""
        async with startup_lock(self.engine):
            await upgrade_async(self.settings.database_url)
            async with self.sessions() as session:
                added = await seed_units(session)
                await seed_departments(session)  # provincial departments report campaign figures
                await seed_categories(session)  # report areas: content/report_categories.toml
                await session.commit()
        if added:
            log.info("seeded %d administrative units", added)

    def beat(self, job: str) -> None:
        """A background loop or a channel just did its work."""
        self.health.ok(job)

    @cached_property
    def router(self) -> Router:
        return Router(self, self.registry)

    async def aclose(self) -> None:
        from handlers.progress.chart_process import stop_chart_process

        await stop_chart_process()
        await self.engine.dispose()
