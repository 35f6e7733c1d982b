"""``python -m bot progress ...``: import campaign figures, print the summary, write the template."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
from datetime import date
from pathlib import Path

from content.campaign import CampaignError, campaign_for, find_campaign, load_campaigns
from content.dates import local_today
from content.progress import summary_to_json
from content.progress_import import parse_figures
from content.progress_template import make_template

MAX_ERRORS_SHOWN = 20


def register(sub) -> None:
    """Add the ``progress`` command and its sub-commands to an argparse subparsers object."""
    progress = sub.add_parser("progress", help="tiến độ chiến dịch: nhập số liệu, tóm tắt, tệp mẫu")
    commands = progress.add_subparsers(dest="progress_command", required=True)

    imp = commands.add_parser("import", help="nhập tệp số liệu (.xlsx hoặc .csv) của một ngày")
    imp.add_argument("file", type=Path)
    imp.add_argument("--date", required=True, type=date.fromisoformat, help="ngày số liệu, YYYY-MM-DD")
    imp.add_argument("--campaign", help="id chiến dịch (mặc định: chiến dịch đang chạy vào ngày đó)")
    imp.set_defaults(run=run_import)

    summary = commands.add_parser("summary", help="in tóm tắt tiến độ")
    summary.add_argument("--date", type=date.fromisoformat, help="ngày, YYYY-MM-DD (mặc định: hôm nay)")
    summary.add_argument("--unit", help="mã hoặc tên đơn vị (mặc định: toàn tỉnh)")
    summary.add_argument("--campaign", help="id chiến dịch")
    summary.add_argument("--json", action="store_true", help="in JSON thay cho văn bản")
    summary.add_argument("--lang", default="vi", choices=("vi", "en"), help="ngôn ngữ của văn bản (vi, en)")
    summary.add_argument("--chart", type=Path, help="ghi biểu đồ PNG vào tệp này")
    summary.set_defaults(run=run_summary)

    template = commands.add_parser("template", help="ghi tệp Excel mẫu để các đơn vị điền số liệu")
    template.add_argument("--out", type=Path, help="tệp .xlsx (mặc định: mau-so-lieu-<chiến dịch>.xlsx)")
    template.add_argument("--campaign", help="id chiến dịch")
    template.set_defaults(run=run_template)

    broadcast = sub.add_parser("broadcast", help="gửi tin hằng ngày cho cán bộ đã đăng ký")
    kinds = broadcast.add_subparsers(dest="broadcast_command", required=True)
    daily = kinds.add_parser("daily", help="tạo và gửi tin tóm tắt tiến độ của một ngày (mỗi người một lần)")
    daily.add_argument("--date", type=date.fromisoformat, help="ngày, YYYY-MM-DD (mặc định: hôm nay)")
    daily.add_argument("--no-send", action="store_true",
                       help="chỉ đưa vào hàng đợi; bot đang chạy sẽ gửi đi")
    daily.set_defaults(run=run_broadcast_daily)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _today(app) -> date:
    return local_today(app.settings.tz)


def _campaign(args: argparse.Namespace, day: date):
    campaigns = load_campaigns()
    if getattr(args, "campaign", None):
        campaign = find_campaign(args.campaign)
        if campaign is not None:
            return campaign
        raise CampaignError(
            f"Không có chiến dịch '{args.campaign}'. Các chiến dịch: {', '.join(c.id for c in campaigns)}"
        )
    campaign = campaign_for(day, campaigns)
    if campaign is None:
        raise CampaignError(f"Không có chiến dịch nào đang chạy vào ngày {day:%d/%m/%Y} "
                            "(xem `python -m bot campaign list`; ghi --campaign ID để chọn một chiến dịch).")
    return campaign


async def _units(session):
    from db.progress import reporting_units

    return await reporting_units(session)  # departments are seeded by App.prepare()


async def run_import(args: argparse.Namespace, app) -> int:
    """Import one figures file; print every problem and change nothing if there is one."""
    from db.progress import import_figures

    try:
        campaign = _campaign(args, args.date)
        data = args.file.read_bytes()
    except (CampaignError, OSError) as exc:
        _err(f"Lỗi: {exc}")
        return 1
    async with app.sessions() as session:
        units = await _units(session)
    parsed = await asyncio.to_thread(parse_figures, data, args.file.name, campaign, units)  # no session open
    async with app.sessions() as session:
        result = await import_figures(session, campaign, args.date, parsed, None, args.file.name, data)
    if not result.ok:
        _err(f"Không nhập tệp {args.file.name}: có {len(result.errors)} lỗi, chưa có số liệu nào được ghi.")
        for message in result.errors[:MAX_ERRORS_SHOWN]:
            _err(f"  - {message}")
        if len(result.errors) > MAX_ERRORS_SHOWN:
            _err(f"  … và {len(result.errors) - MAX_ERRORS_SHOWN} lỗi khác.")
        return 1
    print(
        f"Đã nhập {result.rows} đơn vị ({result.figures} số liệu) ngày {args.date:%d/%m/%Y} "
        f"cho chiến dịch {campaign.id}."
        + (f" Thay thế {result.replaced} số liệu cũ của ngày này." if result.replaced else "")
    )
    if parsed.skipped:
        print(f"Bỏ qua {len(parsed.skipped)} dòng: " + "; ".join(parsed.skipped[:MAX_ERRORS_SHOWN]))
    if parsed.ignored_columns:
        shown = parsed.ignored_columns[:MAX_ERRORS_SHOWN]
        more = len(parsed.ignored_columns) - len(shown)
        print(f"Bỏ qua các cột: {', '.join(shown)}" + (f" … và {more} cột khác" if more > 0 else ""))
    return 0


async def run_summary(args: argparse.Namespace, app) -> int:
    """Print the progress summary as text (or JSON), optionally writing the chart.

    Without --campaign: the campaign running on the day, else the latest that ended (named as
    ended); the words are the renderer of the chat (``--lang en`` for English).
    """
    from content.progress_chart import render_chart
    from db.units import find_units
    from handlers.i18n import use_locale
    from handlers.progress.summary import chart_words, load_progress, render_summary, summary_extras

    day = args.date or _today(app)
    campaign = None
    if args.campaign:
        campaign = find_campaign(args.campaign)
        if campaign is None:
            _err(f"Lỗi: không có chiến dịch '{args.campaign}'.")
            return 1
    async with app.sessions() as session:
        data = await load_progress(session, day, campaign)
        if data is None:
            _err(f"Chưa có chiến dịch thật nào chạy đến ngày {day:%d/%m/%Y} (xem `python -m bot campaign list`).")
            return 1
        scope = None
        if args.unit:
            matches = await find_units(session, args.unit)
            if len(matches) != 1:
                names = ", ".join(f"{u.name} ({u.code})" for u in matches[:5])
                _err(f"Không xác định được đơn vị '{args.unit}'" + (f": {names}" if names else "."))
                return 1
            scope = matches[0].code
        summary = data.summary(scope, day)
        with use_locale(args.lang):
            extras = [] if args.json else await summary_extras(session, data.scope_codes(scope), day)
            text = render_summary(summary, extras)
            words = chart_words()
    if args.json:
        print(json.dumps(summary_to_json(summary), ensure_ascii=False, indent=2))
    else:
        print(html.unescape(re.sub(r"</?[a-z]+>", "", text)))
    if args.chart:
        args.chart.write_bytes(render_chart(summary, words))
        print(f"Đã ghi biểu đồ vào {args.chart}", file=sys.stderr)
    return 0


async def run_template(args: argparse.Namespace, app) -> int:
    """Write the xlsx template with one row per reporting unit."""
    try:
        campaign = _campaign(args, _today(app))
    except CampaignError as exc:
        _err(f"Lỗi: {exc}")
        return 1
    async with app.sessions() as session:
        units = await _units(session)
    out = args.out or Path(f"mau-so-lieu-{campaign.id}.xlsx")
    out.write_bytes(make_template(campaign, units))
    print(f"Đã ghi tệp mẫu {out} ({campaign.name}).")
    return 0


async def run_broadcast_daily(args: argparse.Namespace, app) -> int:
    """Enqueue the day's summary for every subscribed official; deliver it only when no bot runs.

    Each official gets it once a day whatever happens: running this twice, or after the 17:00
    job, enqueues nothing new. A running bot (the leading process) delivers what was queued;
    sending here too would make two senders and break the rate limit. With no bot running,
    this command takes the lead while it sends (Telegram; Zalo messages wait for the bot,
    which serves the chart links Zalo needs).
    """
    from handlers.progress.daily import enqueue_daily_summaries

    day = args.date or _today(app)
    added = await enqueue_daily_summaries(app, day)
    print(f"Đã đưa {added} tin tóm tắt ngày {day:%d/%m/%Y} vào hàng đợi.")
    if args.no_send:
        return 0
    if not app.settings.telegram_bot_token:
        print("Chưa đặt TELEGRAM_BOT_TOKEN: tin sẽ được gửi khi bot chạy.", file=sys.stderr)
        return 0
    from bot.channels.telegram import TelegramChannel
    from bot.leader import Leadership
    from bot.outbox import OutboxSender

    leadership = Leadership(app)
    if not await leadership.try_acquire():
        print("Bot đang chạy: bot sẽ gửi các tin trong hàng đợi.")
        return 0
    try:
        channel = TelegramChannel.from_settings(app, webhook=True)
        await channel.application.initialize()
        try:
            sent = await OutboxSender(app, [channel]).drain()
        finally:
            await channel.stop()
    finally:
        await leadership.release()
    print(f"Đã gửi {sent} tin qua Telegram.")
    return 0
