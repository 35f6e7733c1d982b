"""A figures file is read before the message's transaction, in a thread, outside the write lock
(issue 12, point 2): a large file never holds up anyone else's message."""

from __future__ import annotations

import asyncio
import threading

import pytest

import handlers.progress.chat as chat
from db.admin import grant_role
from tests.conftest import Talker
from tests.test_progress_chat import communes, document, stored, xlsx

pytestmark = pytest.mark.usefixtures("running_campaign")


async def test_the_file_is_read_in_a_thread_outside_the_write_lock_while_others_are_answered(app, monkeypatch):
    a, *_ = await communes(app)
    async with app.sessions() as session:
        await grant_role(session, "console", "1", "official", None)
    official, citizen = Talker(app, "1"), Talker(app, "2")
    seen = {}
    reading, release = threading.Event(), threading.Event()
    real_parse = chat.parse_figures

    def slow_parse(*args, **kwargs):
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        seen["locked"] = app.write_lock.locked()
        reading.set()
        release.wait(10)  # a large file: the reading takes a while
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(chat, "parse_figures", slow_parse)
    header = ["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]
    upload = asyncio.create_task(official.send(document(official, xlsx([header, [a.code, 3, 4]]), "a.xlsx")))
    await asyncio.to_thread(reading.wait, 10)
    # While the file is being read, a citizen's /menu is answered at once.
    replies = await asyncio.wait_for(citizen.say("/menu"), timeout=5)
    assert replies and not upload.done()
    release.set()
    await upload
    assert seen == {"thread": True, "locked": False}
    assert "Nhập các số liệu này?" in official.text and await stored(app) == []
