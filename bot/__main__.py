"""``python -m bot``: the command line lives in :mod:`bot.cli`."""

import sys

from bot.memory import tune_malloc

tune_malloc()  # first, before any large allocation (bot/memory.py)

from bot.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
