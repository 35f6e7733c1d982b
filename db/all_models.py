"""Import every model module so Base.metadata knows all tables (Alembic, tests)."""

from db import (  # noqa: F401  # noqa: F401
    guidance,
    help_requests,
    invites,
    locks,
    media,
    models,
    outbox,
    progress,
    reports,
    subscriptions,  # noqa: F401
)
