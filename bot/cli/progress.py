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

    campaign = sub.add_parser("campaign", help="chiến dịch: tạo mới từ tệp, liệt kê, xem, tệp mẫu")
    campaigns = campaign.add_subparsers(dest="campaign_command", required=True)
    new = campaigns.add_parser("new", help="kiểm tra tệp chiến dịch (.toml hoặc .xlsx theo mẫu) rồi thêm vào bot")
    new.add_argument("file", type=Path)
    new.add_argument("--replace", action="store_true", help="thay chiến dịch cùng mã đã có")
    new.set_defaults(run=run_campaign_new, needs_db=False)
    listed = campaigns.add_parser("list", help="các chiến dịch: đang chạy, đã kết thúc, sắp tới, mẫu")
    listed.set_defaults(run=run_campaign_list, needs_db=False)
    show = campaigns.add_parser("show", help="xem một chiến dịch: ngày, cấp, chỉ tiêu, mục tiêu, tên cột")
    show.add_argument("id")
    show.set_defaults(run=run_campaign_show, needs_db=False)
    blank = campaigns.add_parser("template", help="ghi tệp Excel mẫu cho một chiến dịch mới (mỗi dòng một chỉ tiêu)")
    blank.add_argument("--out", type=Path, default=Path("mau-chien-dich.xlsx"))
    blank.set_defaults(run=run_campaign_template, needs_db=False)

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
    from handlers.extensions import summary_extras
    from handlers.i18n import use_locale
    from handlers.progress.summary import chart_words, load_progress, render_summary, stale_days_of

    day = args.date or _today(app)
    campaign = None
    if args.campaign:
        campaign = find_campaign(args.campaign)
        if campaign is None:
            _err(f"Lỗi: không có chiến dịch '{args.campaign}'.")
            return 1
    async with app.sessions() as session:
        data = await load_progress(session, day, campaign, stale_days_of(app.settings))
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


# ---------------------------------------------------------------- campaign new | list | show | template


def _status(campaign, day: date) -> str:
    if campaign.example:
        return "MẪU (không bao giờ được chọn theo ngày)"
    if campaign.running_on(day):
        return f"đang chạy, còn {(campaign.end - day).days} ngày"
    return "đã kết thúc" if campaign.end < day else "sắp bắt đầu"


async def run_campaign_new(args: argparse.Namespace, app) -> int:
    """Check a campaign file (TOML, or the Excel template filled in) and add it to content/campaigns/."""
    import tomllib

    import content.campaign as campaign_module
    from content.campaign_file import campaign_toml_from_xlsx, check_campaign, load_campaign_text

    try:
        data = args.file.read_bytes()
        if args.file.suffix.lower() in (".xlsx", ".xlsm"):
            text = campaign_toml_from_xlsx(data)
        else:
            text = data.decode("utf-8-sig")
        try:
            campaign_id = str(tomllib.loads(text).get("id") or args.file.stem)
        except tomllib.TOMLDecodeError as exc:
            raise CampaignError(f"không đọc được TOML ({exc})") from exc
        campaign = load_campaign_text(text, campaign_id)
    except (CampaignError, OSError, UnicodeDecodeError) as exc:
        _err(f"Lỗi: {args.file.name}: {exc}")
        return 1
    problems = check_campaign(campaign)
    if campaign.example:
        problems.append("tệp ghi example = true: chiến dịch mẫu không được thêm làm chiến dịch thật")
    folder = campaign_module.CAMPAIGNS_DIR
    target = folder / f"{campaign.id}.toml"
    if target.exists() and not args.replace:
        problems.append(f"đã có chiến dịch mã '{campaign.id}' ({target}); ghi --replace để thay")
    if problems:
        for problem in problems:
            _err(f"Lỗi: {problem}")
        return 1
    today = _today(app)
    for other in load_campaigns():
        if other.id != campaign.id and other.start <= campaign.end and campaign.start <= other.end:
            print(f"Lưu ý: trùng thời gian với '{other.id}' ({other.start:%d/%m/%Y}–{other.end:%d/%m/%Y}); "
                  "ngày nào có hai chiến dịch thì bot chọn chiến dịch bắt đầu sau.")
    target.write_text(text, encoding="utf-8")
    print(f"Đã thêm chiến dịch {campaign.id}: {campaign.name} ({campaign.start:%d/%m/%Y}–{campaign.end:%d/%m/%Y}, "
          f"{len(campaign.metrics)} chỉ tiêu, {_status(campaign, today)}). Tệp: {target}")
    return 0


async def run_campaign_list(args: argparse.Namespace, app) -> int:
    from content.campaign import EXAMPLES_DIR, load_campaign

    today = _today(app)
    examples = [load_campaign(path) for path in sorted(EXAMPLES_DIR.glob("*.toml"))]
    for campaign in load_campaigns() + examples:
        print(f"{campaign.id}\t{campaign.start:%d/%m/%Y}–{campaign.end:%d/%m/%Y}\t{_status(campaign, today)}\t"
              f"{campaign.plan}")
    return 0


async def run_campaign_show(args: argparse.Namespace, app) -> int:
    campaign = find_campaign(args.id)
    if campaign is None:
        _err(f"Không có chiến dịch '{args.id}' (xem `python -m bot campaign list`).")
        return 1
    print(f"{campaign.id}: {campaign.name}")
    print(f"Căn cứ: {campaign.plan}")
    print(f"Từ {campaign.start:%d/%m/%Y} đến {campaign.end:%d/%m/%Y} — {_status(campaign, _today(app))}")
    print(f"Các cấp: {', '.join(campaign.levels)}")
    for source in campaign.sources:
        print(f"Nguồn: {source}")
    for metric in campaign.metrics:
        targets = ", ".join(f"{level} {value * 100:g}%" for level, value in metric.targets.items())
        print(f"- {metric.id}: {metric.name} — mục tiêu {targets}")
        print(f"    tử số: {' | '.join(metric.headers(0))}")
        print(f"    mẫu số: {' | '.join(metric.headers(1))}")
    return 0


async def run_campaign_template(args: argparse.Namespace, app) -> int:
    from content.campaign_file import campaign_template

    args.out.write_bytes(campaign_template())
    print(f"Đã ghi tệp mẫu chiến dịch {args.out}: điền trang \"Chien dich\" và mỗi chỉ tiêu một dòng ở trang "
          "\"Chi tieu\", rồi chạy `python -m bot campaign new` với tệp đó.")
    return 0
