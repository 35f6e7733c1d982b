"""`python -m bot chat` reads one message per line when piped and prints the replies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_chat(tmp_path, lines: list[str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/chat.db",
           "TELEGRAM_BOT_TOKEN": "", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "chat", *args], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)


def test_piped_chat_answers_start_in_vietnamese_with_a_numbered_menu(tmp_path):
    result = run_chat(tmp_path, ["/start"])
    assert result.returncode == 0, result.stderr
    assert "Xin chào" in result.stdout
    assert "1. " in result.stdout and "(Trả lời bằng một số: 1" in result.stdout


def test_piped_chat_maps_a_typed_number_to_the_option(tmp_path):
    result = run_chat(tmp_path, ["/language", "2", "/help"])
    assert result.returncode == 0, result.stderr
    assert "Language set to English." in result.stdout
    assert "How to use this bot" in result.stdout  # the help after switching is in English


def test_piped_chat_exits_at_end_of_input_and_keeps_the_user(tmp_path):
    run_chat(tmp_path, ["/language", "2"])
    again = run_chat(tmp_path, ["/start"])
    assert "Hello" in again.stdout  # the language choice was stored in the database file


def test_make_run_without_token_opens_the_terminal_chat(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
           "TELEGRAM_BOT_TOKEN": "", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], input="/start\n", capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Xin chào" in result.stdout and "1. " in result.stdout


def test_two_terminal_users_play_both_sides_of_a_help_request(tmp_path):
    """Each terminal prints the messages queued for its own user: the whole loop works locally."""
    member = run_chat(tmp_path, [], "--user-id", "2", "--as", "team", "--unit", "18673")
    assert member.returncode == 0, member.stderr
    # The citizen answers every question by typing (a number picks an option).
    citizen = run_chat(tmp_path, ["/hotro", "cam xuyen", "Thôn 3", "1", "1", "1", "1"], "--user-id", "1")
    assert "HT-000001" in citizen.stdout, citizen.stdout
    member = run_chat(tmp_path, ["1"], "--user-id", "2")  # "1" = "Tôi nhận" of the delivered message
    assert "📨 Tin nhắn mới" in member.stdout and "HT-000001" in member.stdout
    assert "Bạn đã nhận HT-000001" in member.stdout
    assert "Tin vui" not in member.stdout  # the citizen's news is not printed in the member's terminal
    citizen = run_chat(tmp_path, [], "--user-id", "1")
    assert "📨 Tin nhắn mới" in citizen.stdout and "Tin vui" in citizen.stdout
