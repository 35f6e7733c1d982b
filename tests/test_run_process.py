"""`python -m bot run` as a separate process with a token and a Bot API URL answers /start with buttons."""

from __future__ import annotations

import asyncio
import signal

from tests.e2e import start_bot_process
from tests.fake_telegram import FakeTelegram


async def test_run_with_a_token_answers_start_with_inline_buttons(tmp_path):
    async with FakeTelegram() as fake:
        # Like a checker's own fake server: no command menu support.
        fake.fail_next("setMyCommands", error_code=404, description="Not Found: method not found", times=2)
        process = await start_bot_process(tmp_path, fake)
        try:
            await fake.wait_for(lambda call: call.method == "deleteWebhook", timeout=60)
            fake.user_sends_text(777, "/start", first_name="Minh")
            [reply] = await fake.wait_messages(777, 1, timeout=30)
            assert reply.text.startswith("Xin chào Minh!")
            labels = [label for row in fake.buttons(reply) for label, _data in row]
            assert "📚 Hướng dẫn" in labels
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()[-2000:]
        assert fake.token not in err.decode()  # the token never reaches the logs
