"""Logging set-up, and the filter that keeps the bot tokens out of every log record.

A Bot API token sits in every request URL (``…/bot123:SECRET/sendMessage``), and libraries log
URLs: python-telegram-bot at DEBUG ("Set Bot API URL: …"), httpx at INFO, tracebacks of network
errors at any level. The redaction is done where each record is made (a log record factory), so
it holds for every logger, level and handler, including a record's traceback text.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import quote

MASK = "<token>"
_secrets: set[str] = set()


def redact_secrets(*tokens: str) -> None:
    """Add ``tokens`` to what never reaches a log: the whole token, its URL-quoted form, and
    its secret half (the part after ``:``), so a partly printed URL does not leak it either."""
    for token in tokens:
        if not token:
            continue
        _secrets.update({token, quote(token, safe="")})
        secret = token.partition(":")[2]
        if len(secret) >= 6:
            _secrets.add(secret)
    _install()


def redact(text: str) -> str:
    """``text`` with every registered token replaced by ``<token>``."""
    for secret in sorted(_secrets, key=len, reverse=True):  # the whole token before its half
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redacted_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format is logging's own error to report
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_base_factory = None


def _install() -> None:
    global _base_factory
    if _base_factory is not None:
        return
    _base_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = _base_factory(*args, **kwargs)
        return _redacted_record(record) if _secrets else record

    logging.setLogRecordFactory(factory)


def setup_logging(settings, *, quiet: bool = False) -> None:
    """Log to stderr at ``LOG_LEVEL`` (only problems when ``quiet``), the tokens redacted."""
    redact_secrets(settings.telegram_bot_token, settings.zalo_bot_token)
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A line per request is noise at INFO (and would carry the token, were it not redacted).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if quiet:
        # One-shot commands and the terminal chat print their own output; keep logs to problems.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
