"""Import every model module so Base.metadata knows all tables (Alembic, tests)."""

from db import guidance, models, progress  # noqa: F401
from db import invites, outbox, reports  # noqa: F401
from db import subscriptions  # noqa: F401
