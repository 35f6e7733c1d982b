"""``python -m bot progress ...``: import campaign figures, print the summary, write the template."""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from datetime import date
from pathlib import Path

from content.campaign import CampaignError, campaign_for, load_campaigns
from content.dates import local_today
from content.progress import build_summary, render_chart, render_daily_summary, summary_to_json
from content.progress_import import make_template, parse_figures


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
        for campaign in campaigns:
            if campaign.id == args.campaign:
                return campaign
        raise CampaignError(
            f"Không có chiến dịch '{args.campaign}'. Các chiến dịch: {', '.join(c.id for c in campaigns)}"
        )
    campaign = campaign_for(day, campaigns)
    if campaign is None:
        raise CampaignError("Chưa có chiến dịch nào trong content/campaigns/.")
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
        parsed = parse_figures(data, args.file.name, campaign, units)
        result = await import_figures(session, campaign, args.date, parsed, None, args.file.name, data)
    if not result.ok:
        _err(f"Không nhập tệp {args.file.name}: có {len(result.errors)} lỗi, chưa có số liệu nào được ghi.")
        for message in result.errors:
            _err(f"  - {message}")
        return 1
    print(
        f"Đã nhập {result.rows} đơn vị ({result.figures} số liệu) ngày {args.date:%d/%m/%Y} "
        f"cho chiến dịch {campaign.id}."
        + (f" Thay thế {result.replaced} số liệu cũ của ngày này." if result.replaced else "")
    )
    if parsed.ignored_columns:
        print(f"Bỏ qua các cột: {', '.join(parsed.ignored_columns)}")
    return 0


async def run_summary(args: argparse.Namespace, app) -> int:
    """Print the progress summary as text (or JSON), optionally writing the chart."""
    from content.progress import TREND_POINTS
    from db.progress import campaign_in_view, load_history
    from db.units import find_units

    day = args.date or _today(app)
    try:
        campaign = _campaign(args, day)
    except CampaignError as exc:
        _err(f"Lỗi: {exc}")
        return 1
    async with app.sessions() as session:
        if not args.campaign:  # the campaign that has figures, e.g. plan 195 after it ended
            campaign = await campaign_in_view(session, day, load_campaigns()) or campaign
        units = await _units(session)
        scope = None
        if args.unit:
            matches = await find_units(session, args.unit)
            if len(matches) != 1:
                names = ", ".join(f"{u.name} ({u.code})" for u in matches[:5])
                _err(f"Không xác định được đơn vị '{args.unit}'" + (f": {names}" if names else "."))
                return 1
            scope = matches[0]
        history = await load_history(session, campaign, until=args.date, last_dates=TREND_POINTS + 1)
    summary = build_summary(campaign, history, date=args.date, scope_unit=scope, units=units)
    if args.json:
        print(json.dumps(summary_to_json(summary), ensure_ascii=False, indent=2))
    else:
        text = render_daily_summary(summary, None)
        print(html.unescape(re.sub(r"</?[a-z]+>", "", text)))
    if args.chart:
        args.chart.write_bytes(render_chart(summary))
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
    from handlers.progress_daily import enqueue_daily_summaries

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
