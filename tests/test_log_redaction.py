"""Issue 12 point 6: neither bot token reaches a log, at any level, in any record or traceback."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.logs import redact, redact_secrets
from tests.e2e import start_bot_process
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo

TELEGRAM_TOKEN = "987654321:AAH-telegram-SECRET-part_xyz"
ZALO_TOKEN = "1234567890123456789:ZALO-secret-PART-abcdef"


def _leaks(text: str) -> list[str]:
    return [secret for token in (TELEGRAM_TOKEN, ZALO_TOKEN) for secret in (token, token.split(":")[1])
            if secret in text]


def test_every_logger_and_traceback_is_redacted(caplog):
    redact_secrets(TELEGRAM_TOKEN, ZALO_TOKEN)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: https://x/bot%s", TELEGRAM_TOKEN)
        logging.getLogger("some.library").info("GET /bot%s/getUpdates", ZALO_TOKEN.replace(":", "%3A"))
        try:
            raise ConnectionError(f"cannot reach https://api/bot{TELEGRAM_TOKEN}/getMe")
        except ConnectionError:
            logging.getLogger("bot").exception("network error")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert not _leaks(text), text
    assert text.count("<token>") >= 3
    assert redact(f"a {ZALO_TOKEN.split(':')[1]} b") == "a <token> b"


async def test_python_m_bot_run_at_debug_logs_no_token(tmp_path):
    async with FakeTelegram(token=TELEGRAM_TOKEN) as telegram, FakeZalo(token=ZALO_TOKEN) as zalo:
        process = await start_bot_process(tmp_path, telegram, ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_BASE_URL=zalo.url,
                                          PUBLIC_BASE_URL="", LOG_LEVEL="DEBUG")
        try:
            await telegram.wait_for(lambda call: call.method == "deleteWebhook", timeout=60)
            telegram.user_sends_text(777, "/start", first_name="Minh")
            await telegram.wait_messages(777, 1, timeout=30)
            zalo.user_sends_text("u1", "/start")
            await zalo.wait_messages("u1", 1, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    log = err.decode()
    assert "DEBUG" in log and "Set Bot API URL" in log  # PTB's own DEBUG line, that printed the token
    assert not _leaks(log), [line for line in log.splitlines() if _leaks(line)][:5]
