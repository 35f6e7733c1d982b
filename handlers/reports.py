"""Difficulty reports: the member's wizard, the official's triage, news back to the reporter.

Button data (≤ 64 bytes):
  rp:…  the member side (min role team): rp:new, rp:k:d, rp:c:3, rp:send, rp:re:123 …
  ro:…  one report, official side: ro:o:123 (open), ro:t (take), ro:p (in progress), ro:f (resolved),
        ro:r (not responsible / re-route), ro:d (duplicate), ro:c (close), ro:m (message reporter)
  rl:g:c:u:a:p  the official's list: status group, category id, commune code, min age days, page
  rf:g:c:u:a    the category filter menu
  dd:yes|no     /deletemydata confirmation
The router only accepts data it showed to that user; every ro/rl handler still checks that the
report is in the official's scope, because what was shown may have moved since.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.dates import day_range, parse_day
from db import reports as repo
from db.base import utcnow
from db.guidance import forget_questions
from db.guidance import user_hash as inbox_user_hash
from db.invites import find_or_create_village, forget_attempts
from db.models import AdminUnit, DialogState, Role, UnitLevel, User
from db.outbox import OutboxMessage
from db.reports import Report, ReportError, ReportFilter, ReportStatus
from db.units import find_units
from handlers.i18n import N_, _, format_date, format_datetime, use_locale
from handlers.messages import Button, Reply, esc
from handlers.notify import enqueue
from handlers.registry import Context, Registry

PAGE_SIZE = 10
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".gif", ".bmp")
SKIP_WORDS = {"0", "-", "bo qua", "boqua", "khong", "k", "ko", "skip", "no", "khong biet", "kb"}
DONE_WORDS = {"xong", "xong roi", "het", "tiep", "tiep tuc", "done", "ok", "khong co anh", "ko co anh"}

STATUS_LABELS = {
    ReportStatus.new: N_("New"), ReportStatus.acknowledged: N_("Received"),
    ReportStatus.in_progress: N_("In progress"), ReportStatus.reopened: N_("Reopened"),
    ReportStatus.fixed: N_("Resolved"), ReportStatus.not_responsible: N_("Not our responsibility"),
    ReportStatus.duplicate: N_("Duplicate"), ReportStatus.closed: N_("Closed"),
}
KIND_LABELS = {"difficulty": N_("Difficulty, obstacle"), "good_practice": N_("Good practice")}
GROUP_LABELS = {"o": N_("Open"), "f": N_("Resolved"), "c": N_("Closed"), "a": N_("All")}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[ReportStatus(status)])


def _fold(text: str) -> str:
    from content.text import fold_key

    return fold_key(text)


# --- the member's wizard ------------------------------------------------------------------

def _no_buttons(ctx: Context) -> None:
    """A free-text step: a typed number must not pick an option of an earlier message."""
    ctx.state.options = []


def _draft(ctx: Context) -> dict:
    return dict(ctx.state.data or {})


def _touch(ctx: Context, step: str, **updates) -> None:
    ctx.set_step(step, ts=utcnow().isoformat(), **updates)


def _expired(ctx: Context) -> bool:
    ts = (ctx.state.data or {}).get("ts")
    if not ts:
        return False
    return utcnow() - datetime.fromisoformat(ts) > timedelta(hours=repo.DRAFT_HOURS)


async def _drop_draft(ctx: Context) -> None:
    draft = (ctx.state.data or {}).get("draft")
    if draft:
        await repo.discard_draft_photos(ctx.session, draft)
    ctx.end_dialog()


def _cancel_row() -> list[Button]:
    return [Button(_("✖️ Cancel"), "rp:x")]


async def start_report(ctx: Context) -> Reply:
    user = ctx.user
    commune = await ctx.session.get(AdminUnit, user.unit_code) if user.unit_code else None
    if commune is None or commune.level is not UnitLevel.xa:
        return Reply(_("Your account is not linked to a commune or ward, so you cannot file a report yet. "
                       "Ask your commune for a team invite code."), buttons=ctx.registry.main_menu(user))
    if ctx.state.dialog == "report" and not _expired(ctx):
        reply = await ask_step(ctx)
        reply.text = _("You have an unfinished report; let's continue it.") + "\n\n" + reply.text
        return reply
    if await repo.reports_today(ctx.session, user.id, ctx.services.settings.tz) >= repo.DAILY_LIMIT:
        return Reply(_("You have sent {limit} reports today, the most allowed in one day. "
                       "Please send more tomorrow.").format(limit=repo.DAILY_LIMIT),
                     buttons=ctx.registry.main_menu(user))
    ctx.start_dialog("report", "kind", {"draft": uuid.uuid4().hex, "ts": utcnow().isoformat(),
                                        "unit": commune.code, "village": user.village_code})
    return await ask_step(ctx)


async def ask_step(ctx: Context) -> Reply:
    """The question of the current step."""
    data, step = _draft(ctx), ctx.state.step
    if step == "kind":
        return Reply(_("<b>New report</b> (step 1 of 6)\nWhat do you want to report?"), buttons=[
            [Button(_("⚠️ A difficulty or obstacle"), "rp:k:d")],
            [Button(_("🌟 A good practice"), "rp:k:g")], _cancel_row()])
    if step == "category":
        cats = await repo.categories(ctx.session)
        rows = [[Button(c.label(ctx.user.locale), f"rp:c:{c.id}") for c in cats[i:i + 2]]
                for i in range(0, len(cats), 2)]
        return Reply(_("Step 2 of 6: which area is it about?"), buttons=rows + [_cancel_row()])
    if step == "place":
        village = await ctx.session.get(AdminUnit, data["village"]) if data.get("village") else None
        if village is None:
            ctx.state.step = "place_text"
            return await ask_step(ctx)
        return Reply(_("Step 3 of 6: where? {village}. Is that right?").format(village=esc(village.name)),
                     buttons=[[Button(_("✅ Yes"), "rp:pl:ok")], [Button(_("✏️ Another village"), "rp:pl:chg")],
                              _cancel_row()])
    if step == "place_text":
        _no_buttons(ctx)
        return Reply(_("Step 3 of 6: type the name of the village (thôn) or residential group (tổ dân phố), "
                       "for example: Thôn 3"))
    if step == "desc":
        _no_buttons(ctx)
        return Reply(_("Step 4 of 6: describe the problem in a few sentences "
                       "(what happened, for whom, what you tried). Between {min} and {max} characters.")
                     .format(min=repo.MIN_DESCRIPTION, max=repo.MAX_DESCRIPTION))
    if step == "photos":
        count = await repo.draft_photo_count(ctx.session, data["draft"])
        label = _("✅ Done") if count else _("⏭ No photo")
        return Reply(_("Step 5 of 6: send up to {max} photos (a screenshot of the error helps), "
                       "or press the button to go on. Photos so far: {count}.")
                     .format(max=repo.MAX_PHOTOS, count=count), buttons=[[Button(label, "rp:ph")]])
    if step == "people":
        _no_buttons(ctx)
        return Reply(_("Step 6 of 6: about how many people are affected? Type a number, "
                       "or 0 if you don't know."))
    return await summary(ctx)


async def summary(ctx: Context) -> Reply:
    ctx.state.step = "summary"
    data = _draft(ctx)
    category = await ctx.session.get(repo.ReportCategory, data.get("cat"))
    village = await ctx.session.get(AdminUnit, data["village"]) if data.get("village") else None
    commune = await ctx.session.get(AdminUnit, data["unit"])
    photos = await repo.draft_photo_count(ctx.session, data["draft"])
    people = data.get("people")
    lines = [_("<b>Please check your report</b>"),
             _("Type: {kind}").format(kind=_(KIND_LABELS[data.get("kind", "difficulty")])),
             _("Area: {category}").format(category=esc(category.label(ctx.user.locale) if category else "")),
             _("Place: {place}").format(place=esc(", ".join(n for n in (village.name if village else "",
                                                                          commune.name if commune else "") if n))),
             _("Description: {text}").format(text=esc(data.get("desc", ""))),
             _("Photos: {count}").format(count=photos),
             _("People affected: {people}").format(people=people if people else _("not given"))]
    rows: list[list[Button]] = []
    if data.get("kind") == "difficulty" and category is not None:
        similar = await repo.similar_open_reports(ctx.session, data["unit"], category.id)
        if similar:
            lines += ["", _("Others in your commune reported open problems in the same area. "
                            "If yours is the same, press it instead of sending a new report:")]
            for other in similar:
                lines.append(f"• <b>{other.number}</b>: {esc(other.description[:100])}")
                rows.append([Button(_("Same problem as {number}?").format(number=other.number),
                                    f"rp:same:{other.id}")])
    rows += [[Button(_("📨 Send"), "rp:send")], [Button(_("✏️ Edit"), "rp:edit"), Button(_("✖️ Cancel"), "rp:x")]]
    return Reply("\n".join(lines), buttons=rows)


async def _next(ctx: Context, step: str, **updates) -> Reply:
    """Store an answer and move on: to ``step``, or back to the summary when editing."""
    editing = (ctx.state.data or {}).get("editing")
    _touch(ctx, "summary" if editing else step, **updates)
    return await ask_step(ctx)


def _is_image(attachment) -> bool:
    if attachment.kind == "photo":
        return True
    return attachment.mime_type.startswith("image/") or attachment.filename.lower().endswith(IMAGE_EXTENSIONS)


def clean_photo(data: bytes) -> bytes | None:
    """Re-encode a photo without its metadata (photos sent as files keep the GPS position)."""
    try:
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.thumbnail((2560, 2560))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is not a photo for us
        return None


async def _take_photos(ctx: Context) -> Reply | None:
    """Store the photos of this message; None when it had none."""
    images = [a for a in ctx.incoming.attachments if _is_image(a)]
    if ctx.incoming.attachments and not images:
        return Reply(_("This file is not a photo. Please send a photo, or press the button to go on."))
    if not images:
        return None
    draft = _draft(ctx)["draft"]
    count = await repo.draft_photo_count(ctx.session, draft)
    for attachment in images:
        if count >= repo.MAX_PHOTOS:
            break
        cleaned = clean_photo(attachment.data)
        if cleaned is None:
            return Reply(_("I could not read this photo. Please send it again as a photo."))
        count = await repo.add_draft_photo(ctx.session, draft, cleaned, "image/jpeg")
    _touch(ctx, ctx.state.step)
    if count >= repo.MAX_PHOTOS:
        return await _next(ctx, "people")
    return None


async def report_dialog(ctx: Context) -> Reply:
    """Every typed message or photo while the member is filling in a report."""
    if _expired(ctx):
        await _drop_draft(ctx)
        return Reply(_("Your unfinished report was older than 24 hours and has been removed. "
                       "Start again when you are ready."), buttons=ctx.main_menu())
    step, text = ctx.state.step, ctx.incoming.text.strip()
    if step == "photos":
        reply = await _take_photos(ctx)
        if reply is not None:
            return reply
        if not ctx.incoming.attachments and _fold(text) in SKIP_WORDS | DONE_WORDS:
            return await _next(ctx, "people")  # typed "bỏ qua" / "xong" instead of pressing the button
        return await ask_step(ctx)
    if step == "desc":
        # A photo with a caption: the caption is the description, the photo is kept.
        if ctx.incoming.attachments and text and repo.MIN_DESCRIPTION <= len(text) <= repo.MAX_DESCRIPTION:
            ctx.set_step("photos", desc=text)
            reply = await _take_photos(ctx)
            if reply is not None and ctx.state.step == "photos":
                return reply
            return await _next(ctx, "photos", desc=text)
        if len(text) < repo.MIN_DESCRIPTION:
            _no_buttons(ctx)
            return Reply(_("That is too short. Please describe the problem in at least {min} characters.")
                         .format(min=repo.MIN_DESCRIPTION))
        if len(text) > repo.MAX_DESCRIPTION:
            _no_buttons(ctx)
            return Reply(_("That is too long ({length} characters). Please shorten it to {max} characters.")
                         .format(length=len(text), max=repo.MAX_DESCRIPTION))
        return await _next(ctx, "photos", desc=text)
    if step == "place_text":
        if not text or len(text) > 100:
            return await ask_step(ctx)
        village = await find_or_create_village(ctx.session, _draft(ctx)["unit"], text)
        if village is None:
            return await ask_step(ctx)
        return await _next(ctx, "desc", village=village.code)
    if step == "people":
        folded = _fold(text)
        digits = folded.replace(".", "").replace(",", "").replace(" ", "")
        if folded in SKIP_WORDS:
            return await _next(ctx, "summary", people=None)
        if digits.isdigit() and int(digits) < 10_000_000:
            return await _next(ctx, "summary", people=int(digits) or None)
        _no_buttons(ctx)
        return Reply(_("Please type a number, for example 5, or 0 if you don't know."))
    # A step that expects a button: show it again.
    return await ask_step(ctx)


async def on_member_button(ctx: Context) -> Reply | list[Reply]:
    parts = ctx.incoming.button.split(":")
    action = parts[1] if len(parts) > 1 else "new"
    arg = parts[2] if len(parts) > 2 else ""
    if action == "new":
        return await start_report(ctx)
    if action == "my":
        return await my_reports(ctx)
    if action == "re":
        return await reopen_report(ctx, arg)
    # Everything else belongs to an open draft.
    if ctx.state.dialog != "report":
        return Reply(_("This report form is already closed. Press \"📝 Report a difficulty\" to start a new one."),
                     buttons=ctx.main_menu())
    if _expired(ctx):
        return await report_dialog(ctx)
    step = ctx.state.step
    if action == "x":
        await _drop_draft(ctx)
        return Reply(_("Cancelled. Nothing was sent."), buttons=ctx.main_menu())
    if action == "k" and step == "kind" and arg in ("d", "g"):
        return await _next(ctx, "category", kind="difficulty" if arg == "d" else "good_practice")
    if action == "c" and step == "category" and arg.isdigit():
        category = await ctx.session.get(repo.ReportCategory, int(arg))
        if category is not None and category.active:
            return await _next(ctx, "place", cat=category.id)
    if action == "pl" and step == "place":
        if arg == "ok":
            return await _next(ctx, "desc")
        _touch(ctx, "place_text")
        return await ask_step(ctx)
    if action == "ph" and step == "photos":
        return await _next(ctx, "people")
    if action == "edit" and step == "summary":
        return Reply(_("What do you want to change?"), buttons=[
            [Button(_("Type"), "rp:e:kind"), Button(_("Area"), "rp:e:category")],
            [Button(_("Place"), "rp:e:place_text"), Button(_("Description"), "rp:e:desc")],
            [Button(_("Photos"), "rp:e:photos"), Button(_("People affected"), "rp:e:people")],
            [Button(_("⬅️ Back to the summary"), "rp:e:summary")]])
    if action == "e" and step == "summary" and arg in ("kind", "category", "place_text", "desc", "photos",
                                                      "people", "summary"):
        if arg == "photos":
            await repo.discard_draft_photos(ctx.session, _draft(ctx)["draft"])
        _touch(ctx, arg, editing=True)
        return await ask_step(ctx)
    if action == "send" and step == "summary":
        return await send_report(ctx)
    if action == "same" and step == "summary" and arg.isdigit():
        return await join_same_problem(ctx, int(arg))
    return await ask_step(ctx)


async def send_report(ctx: Context) -> Reply:
    data = _draft(ctx)
    existing = await repo.find_by_draft(ctx.session, data["draft"])
    if existing is not None:
        ctx.end_dialog()
        return Reply(_("Report {number} was already sent.").format(number=existing.number),
                     buttons=ctx.main_menu())
    try:
        report = await repo.submit_report(
            ctx.session, ctx.user, data["draft"], data.get("kind", "difficulty"), data["cat"], data["unit"],
            data.get("village"), data["desc"], data.get("people"), ctx.services.settings.tz)
    except ReportError:
        await _drop_draft(ctx)
        return Reply(_("You have sent {limit} reports today, the most allowed in one day. "
                       "Please send more tomorrow.").format(limit=repo.DAILY_LIMIT),
                     buttons=ctx.main_menu())
    ctx.end_dialog()
    await notify_officials_new(ctx.session, report, ctx.user)
    return Reply(_("Thank you! Your report was sent. Its number is <b>{number}</b>.\n"
                   "The commune officials have been told. You will get a message here whenever its status "
                   "changes. See all your reports with /myreports.").format(number=report.number),
                 buttons=ctx.main_menu())


async def join_same_problem(ctx: Context, report_id: int) -> Reply:
    data = _draft(ctx)
    report = await repo.get_report(ctx.session, report_id)
    if report is None or report.unit_code != data.get("unit") or not report.status_enum.is_open:
        return await summary(ctx)
    await repo.follow(ctx.session, report, ctx.user, note=data.get("desc", ""))
    await _drop_draft(ctx)
    return Reply(_("Thank you. Instead of a new report, you now follow {number}: you will get its news. "
                   "The officials see that one more team met this problem.").format(number=report.number),
                 buttons=ctx.main_menu())


# --- news to people -----------------------------------------------------------------------

async def _unit_name(session: AsyncSession, code: str | None) -> str:
    unit = await session.get(AdminUnit, code) if code else None
    return unit.name if unit else ""


async def notify_officials_new(session: AsyncSession, report: Report, reporter: User | None,
                               reopened: bool = False) -> int:
    """Tell the officials whose scope holds the report's commune; one message each."""
    officials = await repo.officials_for(session, report.unit_code)
    category = await session.get(repo.ReportCategory, report.category_id)
    village = await _unit_name(session, report.village_code)
    commune = await _unit_name(session, report.unit_code)
    event = f"re{report.reopened_at.timestamp():.0f}" if reopened and report.reopened_at else "new"
    for official in officials:
        if reporter is not None and official.id == reporter.id:
            continue
        with use_locale(official.locale):
            if reopened:
                head = _("🔁 Report <b>{number}</b> was reopened: the reporter says the problem is still not "
                         "resolved.").format(number=report.number)
            else:
                head = _("🆕 New report <b>{number}</b> from {place}.").format(
                    number=report.number, place=esc(", ".join(n for n in (village, commune) if n)))
            text = "\n".join([head, _("Area: {category}").format(
                category=esc(category.label(official.locale) if category else "")),
                esc(report.description[:300])])
            reply = Reply(text, buttons=[[Button(_("Open {number}").format(number=report.number),
                                                 f"ro:o:{report.id}")]])
        await enqueue(session, official.id, reply, kind="report_new",
                      dedupe_key=f"rp:{event}:{report.id}:{official.id}")
    return len(officials)


def reporter_message(report: Report, status: ReportStatus, unit: str, note: str = "", other: str = "") -> Reply:
    """The message a reporter gets for a status change, in the current locale (one template per state)."""
    number, unit = report.number, esc(unit)
    note_line = ("\n" + _("Note: {note}").format(note=esc(note))) if note else ""
    reopen = [[Button(_("🔁 Still not resolved"), f"rp:re:{report.id}")]]
    if status is ReportStatus.acknowledged:
        return Reply(_("📬 Your report <b>{number}</b> has been received by {unit}.").format(number=number, unit=unit))
    if status is ReportStatus.in_progress:
        return Reply(_("🔧 {unit} is working on your report <b>{number}</b>.").format(number=number, unit=unit))
    if status is ReportStatus.fixed:
        return Reply(_("✅ Your report <b>{number}</b> has been resolved by {unit}.").format(number=number, unit=unit)
                     + note_line + "\n\n" + _("If the problem is still there, press \"Still not resolved\" "
                                               "within 14 days."), buttons=reopen)
    if status is ReportStatus.not_responsible:
        return Reply(_("ℹ️ {unit} says your report <b>{number}</b> is not within its authority.")
                     .format(number=number, unit=unit) + note_line, buttons=reopen)
    if status is ReportStatus.duplicate:
        return Reply(_("🔗 Your report <b>{number}</b> is the same problem as <b>{other}</b>. "
                       "It will be handled there and you will get its news.").format(number=number, other=other))
    if status is ReportStatus.closed:
        return Reply(_("📁 Your report <b>{number}</b> has been closed by {unit}.").format(number=number, unit=unit)
                     + note_line + "\n\n" + _("If the problem is still there, press \"Still not resolved\" "
                                               "within 14 days."), buttons=reopen)
    return Reply(_("Your report <b>{number}</b> is now: {status}.").format(number=number,
                                                                         status=status_label(status.value)))


async def tell_reporters(session: AsyncSession, report: Report, make, kind: str, event: str) -> None:
    """Queue ``make()`` (built in each recipient's language) for the reporter and followers."""
    for user_id in await repo.followers_of(session, report):
        user = await session.get(User, user_id)
        if user is None:
            continue
        with use_locale(user.locale):
            reply = make()
        await enqueue(session, user_id, reply, kind=kind, dedupe_key=f"rp:{event}:{user_id}")


# --- the member's own reports -------------------------------------------------------------

async def my_reports(ctx: Context) -> Reply:
    reports = await repo.reports_of(ctx.session, ctx.user.id)
    if not reports:
        return Reply(_("You have not sent any report yet."), buttons=ctx.main_menu())
    cats = {c.id: c for c in await repo.categories(ctx.session)}
    tz = ctx.services.settings.tz
    lines, rows = [_("<b>Your reports</b>")], []
    for r in reports:
        cat = cats.get(r.category_id)
        lines.append(f"• <b>{r.number}</b> · {esc(cat.label(ctx.user.locale) if cat else '')} · "
                     f"{status_label(r.status)} · {format_date(repo.aware(r.created).astimezone(tz).date())}")
        if repo.can_reopen(r):
            rows.append([Button(_("🔁 {number} still not resolved").format(number=r.number), f"rp:re:{r.id}")])
    return Reply("\n".join(lines), buttons=rows + ctx.main_menu()[:1])


async def reopen_report(ctx: Context, arg: str) -> Reply:
    report = await repo.get_report(ctx.session, int(arg)) if arg.isdigit() else None
    if report is None:
        return Reply(_("This report does not exist."))
    try:
        await repo.reopen(ctx.session, report, ctx.user)
    except ReportError as exc:
        if exc.code == "not_yours":
            return Reply(_("Only the person who sent a report can reopen it."))
        return Reply(_("Report {number} can no longer be reopened (it was closed more than 14 days ago, "
                       "or it is still open). Please send a new report.").format(number=report.number))
    await notify_officials_new(ctx.session, report, ctx.user, reopened=True)
    return Reply(_("Report {number} has been reopened. The officials have been told that the problem is "
                   "still not resolved.").format(number=report.number), buttons=ctx.main_menu())


# --- the official's side ------------------------------------------------------------------

def _filter_data(prefix: str, flt: ReportFilter, page: int | None = None) -> str:
    data = f"{prefix}:{flt.group}:{flt.category_id}:{flt.unit_code or 0}:{flt.min_age_days}"
    return data if page is None else f"{data}:{page}"


def _parse_filter(parts: list[str]) -> tuple[ReportFilter, int]:
    def part(i: int, default: str) -> str:
        return parts[i] if len(parts) > i and parts[i] else default

    group = part(1, "o") if part(1, "o") in repo.GROUPS else "o"
    category = int(part(2, "0")) if part(2, "0").isdigit() else 0
    unit = part(3, "0")
    age = int(part(4, "0")) if part(4, "0").isdigit() else 0
    page = int(part(5, "1")) if part(5, "1").isdigit() else 1
    return ReportFilter(group, category, "" if unit == "0" else unit, age), max(page, 1)


async def list_view(ctx: Context, flt: ReportFilter, page: int = 1) -> Reply:
    scope = await repo.scope_of(ctx.session, ctx.user)
    if flt.unit_code and scope is not None and flt.unit_code not in scope:
        return Reply(_("You can only see reports of your own unit and the units below it."))
    reports, total = await repo.list_reports(ctx.session, ctx.user, flt, page, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    cats = {c.id: c for c in await repo.categories(ctx.session)}
    units = {u.code: u.name for u in (await ctx.session.scalars(select(AdminUnit).where(
        AdminUnit.code.in_({r.unit_code for r in reports} | {r.village_code for r in reports if r.village_code})
    ))).all()}
    now = utcnow()
    title = _("<b>Reports: {group}</b> ({total})").format(group=_(GROUP_LABELS[flt.group]), total=total)
    filters = []
    if flt.category_id and flt.category_id in cats:
        filters.append(esc(cats[flt.category_id].label(ctx.user.locale)))
    if flt.unit_code:
        filters.append(esc(await _unit_name(ctx.session, flt.unit_code)))
    if flt.min_age_days:
        filters.append(_("older than {days} days").format(days=flt.min_age_days))
    lines = [title + (" · " + " · ".join(filters) if filters else "")]
    if not reports:
        lines.append(_("No report matches."))
    for r in reports:
        age = (now - repo.aware(r.created)).days
        place = ", ".join(n for n in (units.get(r.village_code or ""), units.get(r.unit_code)) if n)
        cat = cats.get(r.category_id)
        lines.append(f"• <b>{r.number}</b> · {esc(place)} · {esc(cat.label(ctx.user.locale) if cat else '')} · "
                     f"{status_label(r.status)} · " + _("{days} d").format(days=age))
    lines.append(_("Page {page}/{pages}. To see one commune, send /reports followed by its name.").format(
        page=page, pages=pages))
    rows = [[Button(r.number, f"ro:o:{r.id}") for r in reports[i:i + 2]] for i in range(0, len(reports), 2)]
    nav = []
    if page > 1:
        nav.append(Button(_("◀️ Previous"), _filter_data("rl", flt, page - 1)))
    if page < pages:
        nav.append(Button(_("Next ▶️"), _filter_data("rl", flt, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([Button(("✓ " if flt.group == g else "") + _(label),
                        _filter_data("rl", ReportFilter(g, flt.category_id, flt.unit_code, flt.min_age_days), 1))
                 for g, label in GROUP_LABELS.items()])
    older = ReportFilter(flt.group, flt.category_id, flt.unit_code, 0 if flt.min_age_days else repo.STALE_DAYS)
    rows.append([Button(_("🏷 Area filter"), _filter_data("rf", flt)),
                 Button(_("All ages") if flt.min_age_days else _("⏰ Older than 3 days"),
                        _filter_data("rl", older, 1))])
    return Reply("\n".join(lines), buttons=rows)


async def category_menu(ctx: Context, flt: ReportFilter) -> Reply:
    rows = [[Button(_("All areas"), _filter_data("rl", ReportFilter(flt.group, 0, flt.unit_code,
                                                                     flt.min_age_days), 1))]]
    for c in await repo.categories(ctx.session):
        rows.append([Button(c.label(ctx.user.locale),
                            _filter_data("rl", ReportFilter(flt.group, c.id, flt.unit_code, flt.min_age_days), 1))])
    return Reply(_("Show reports of which area?"), buttons=rows)


async def reports_command(ctx: Context) -> Reply:
    flt = ReportFilter()
    if ctx.incoming.args.strip():
        units = [u for u in await find_units(ctx.session, ctx.incoming.args, None) if u.level is not UnitLevel.thon]
        if len(units) != 1:
            return Reply(_("I could not find the unit \"{text}\". Check the name or use its code.")
                         .format(text=esc(ctx.incoming.args)))
        flt.unit_code = units[0].code
    return await list_view(ctx, flt)


async def _report_in_scope(ctx: Context, arg: str) -> Report | None:
    report = await repo.get_report(ctx.session, int(arg)) if arg.isdigit() else None
    if report is None or not await repo.in_scope(ctx.session, ctx.user, report):
        return None
    return report


def _refused() -> Reply:
    return Reply(_("This report does not exist or is not in your unit."))


async def report_view(ctx: Context, report: Report) -> list[Reply]:
    s, tz = ctx.session, ctx.services.settings.tz
    category = await s.get(repo.ReportCategory, report.category_id)
    reporter = await s.get(User, report.reporter_id) if report.reporter_id else None
    handler = await s.get(User, report.handler_id) if report.handler_id else None
    place = ", ".join(n for n in (await _unit_name(s, report.village_code), await _unit_name(s, report.unit_code)) if n)
    followers = len(await repo.followers_of(s, report)) - (1 if report.reporter_id else 0)
    lines = [f"<b>{report.number}</b> · {_(KIND_LABELS.get(report.kind, KIND_LABELS['difficulty']))}",
             _("Area: {category}").format(category=esc(category.label(ctx.user.locale) if category else "")),
             _("Place: {place}").format(place=esc(place)),
             _("Reporter: {name}").format(name=esc(reporter.display_name) if reporter and reporter.display_name
                                          else _("(anonymous)")),
             _("Sent: {time}").format(time=format_datetime(repo.aware(report.created), tzinfo=tz)),
             _("Status: {status}").format(status=status_label(report.status))]
    if handler is not None:
        lines.append(_("Handled by: {name}").format(name=esc(handler.display_name) or "?"))
    if report.people_affected:
        lines.append(_("People affected: {people}").format(people=report.people_affected))
    if followers > 0:
        lines.append(_("Other teams with the same problem: {count}").format(count=followers))
    if report.duplicate_of_id:
        lines.append(_("Same problem as {number}").format(number=repo.report_number(report.duplicate_of_id)))
    lines += ["", esc(report.description)]
    if report.resolution_note:
        lines += ["", _("Result: {note}").format(note=esc(report.resolution_note))]
    rid = report.id
    rows: list[list[Button]] = []
    if report.status_enum.is_open:
        first = []
        if report.status not in (ReportStatus.acknowledged.value,) or report.handler_id != ctx.user.id:
            first.append(Button(_("🙋 Take it"), f"ro:t:{rid}"))
        if report.status != ReportStatus.in_progress.value:
            first.append(Button(_("🔧 In progress"), f"ro:p:{rid}"))
        rows += [first, [Button(_("✅ Resolved"), f"ro:f:{rid}")],
                 [Button(_("↪️ Not ours / transfer"), f"ro:r:{rid}")],
                 [Button(_("🔗 Duplicate of…"), f"ro:d:{rid}"), Button(_("📁 Close"), f"ro:c:{rid}")]]
    rows.append([Button(_("💬 Message the reporter"), f"ro:m:{rid}")])
    rows.append([Button(_("⬅️ Report list"), "rl:o:0:0:0:1")])
    replies = [Reply(photo=p.data) for p in await repo.photos_of(s, rid)]
    replies.append(Reply("\n".join(line for line in lines), buttons=[r for r in rows if r]))
    return replies


async def on_official_button(ctx: Context):
    parts = ctx.incoming.button.split(":")
    action = parts[1] if len(parts) > 1 else ""
    report = await _report_in_scope(ctx, parts[2] if len(parts) > 2 else "")
    if report is None:
        return _refused()
    if action == "o":
        return await report_view(ctx, report)
    unit = await _unit_name(ctx.session, ctx.user.unit_code) or _("the commune")
    if action in ("t", "p", "c"):
        if not report.status_enum.is_open:
            return await report_view(ctx, report)
        if action == "t":
            await repo.take(ctx.session, report, ctx.user)
            status = ReportStatus.acknowledged
        else:
            status = ReportStatus.in_progress if action == "p" else ReportStatus.closed
            await repo.change_status(ctx.session, report, ctx.user, status)
        await tell_reporters(ctx.session, report, lambda: reporter_message(report, status, unit),
                             kind="report_status", event=f"{report.id}:{status.value}:{report.last_action_at.timestamp():.0f}")
        return [Reply(_("Done: {number} is now \"{status}\".").format(number=report.number,
                                                                   status=status_label(status.value)))] \
            + await report_view(ctx, report)
    questions = {
        "f": _("How was {number} resolved? Type a short note for the reporter (required)."),
        "r": _("Which unit should handle {number}? Type its name or code to transfer it, "
               "or 0 if it is simply not within your authority."),
        "d": _("{number} is the same problem as which report? Type its number, for example BC-000123."),
        "m": _("Type your message to the reporter of {number}."),
    }
    if action in questions:
        if action != "m" and not report.status_enum.is_open:
            return await report_view(ctx, report)
        ctx.start_dialog("rpnote", action, {"rid": report.id})
        _no_buttons(ctx)
        return Reply(questions[action].format(number=report.number) + "\n" + _("(/cancel to stop)"))
    return await report_view(ctx, report)


async def note_dialog(ctx: Context):
    """The official's typed answer: resolution note, target unit, original report, or a message."""
    action, rid = ctx.state.step, (ctx.state.data or {}).get("rid")
    report = await _report_in_scope(ctx, str(rid))
    text = ctx.incoming.text.strip()
    if report is None:
        ctx.end_dialog()
        return _refused()
    if not text:
        _no_buttons(ctx)
        return Reply(_("Please type your answer, or /cancel."))
    unit = await _unit_name(ctx.session, ctx.user.unit_code) or _("the commune")
    stamp = f"{report.id}:{utcnow().timestamp():.0f}"
    if action == "f":
        await repo.change_status(ctx.session, report, ctx.user, ReportStatus.fixed, note=text)
        await tell_reporters(ctx.session, report, lambda: reporter_message(report, ReportStatus.fixed, unit, text),
                             kind="report_status", event=f"{stamp}:fixed")
    elif action == "r":
        if _fold(text) in SKIP_WORDS:
            await repo.change_status(ctx.session, report, ctx.user, ReportStatus.not_responsible)
            await tell_reporters(ctx.session, report, lambda: reporter_message(
                report, ReportStatus.not_responsible, unit), kind="report_status", event=f"{stamp}:nr")
        else:
            targets = [u for u in await find_units(ctx.session, text) if u.level in (UnitLevel.xa, UnitLevel.tinh)]
            if len(targets) != 1:
                _no_buttons(ctx)
                return Reply(_("I could not find the unit \"{text}\". Check the name or use its code.")
                             .format(text=esc(text)))
            target, old = targets[0], report.unit_code
            if target.code == old:
                _no_buttons(ctx)
                return Reply(_("The report is already in {unit}. Type another unit, or 0.").format(unit=esc(target.name)))
            await repo.reroute(ctx.session, report, ctx.user, target)
            old_name = await _unit_name(ctx.session, old)
            await tell_reporters(ctx.session, report, lambda: Reply(
                _("↪️ Your report <b>{number}</b> has been transferred from {old} to {new}, which will handle it.")
                .format(number=report.number, old=esc(old_name), new=esc(target.name))),
                kind="report_status", event=f"{stamp}:rr")
            await notify_officials_new(ctx.session, report, None)
    elif action == "d":
        number = repo.parse_number(text)
        original = await _report_in_scope(ctx, str(number or ""))
        if original is None or original.id == report.id:
            _no_buttons(ctx)
            return Reply(_("I could not find that report in your unit. Type a number like BC-000123, or /cancel."))
        await tell_reporters(ctx.session, report, lambda: reporter_message(
            report, ReportStatus.duplicate, unit, other=original.number), kind="report_status", event=f"{stamp}:dup")
        await repo.mark_duplicate(ctx.session, report, original, ctx.user)
    elif action == "m":
        await repo.add_comment(ctx.session, report, ctx.user, text)
        await tell_reporters(ctx.session, report, lambda: Reply(
            _("💬 Message from {unit} about your report <b>{number}</b>:\n{text}").format(
                unit=esc(unit), number=report.number, text=esc(text))), kind="report_comment",
            event=f"{stamp}:m:{utcnow().timestamp()}")
    ctx.end_dialog()
    done = _("Message sent to the reporter.") if action == "m" else _("Done: {number} is now \"{status}\".").format(
        number=report.number, status=status_label(report.status))
    if action in ("r", "d") and not await repo.in_scope(ctx.session, ctx.user, report):
        return Reply(done, buttons=[[Button(_("⬅️ Report list"), "rl:o:0:0:0:1")]])
    return [Reply(done)] + await report_view(ctx, report)


# --- reminders ----------------------------------------------------------------------------

async def remind_stale(session: AsyncSession, now: datetime | None = None, tz=None) -> int:
    """Queue one reminder per official per day listing their reports untouched for 3 days."""
    now = now or utcnow()
    day = now.astimezone(tz).date() if tz else now.date()
    per_official: dict[int, tuple[User, list[Report]]] = {}
    officials_cache: dict[str, list[User]] = {}
    for report in await repo.stale_reports(session, now):
        if report.unit_code not in officials_cache:
            officials_cache[report.unit_code] = await repo.officials_for(session, report.unit_code)
        for official in officials_cache[report.unit_code]:
            per_official.setdefault(official.id, (official, []))[1].append(report)
    queued = 0
    for official, reports in per_official.values():
        with use_locale(official.locale):
            numbers = ", ".join(r.number for r in reports[:20]) + (" …" if len(reports) > 20 else "")
            reply = Reply(_("⏰ Reminder: {count} report(s) have had no action for {days} days or more:\n{numbers}")
                          .format(count=len(reports), days=repo.STALE_DAYS, numbers=numbers),
                          buttons=[[Button(_("Open {number}").format(number=r.number), f"ro:o:{r.id}")]
                                   for r in reports[:5]])
        if await enqueue(session, official.id, reply, kind="report_reminder",
                         dedupe_key=f"rp:remind:{official.id}:{day.isoformat()}") is not None:
            queued += 1
    await repo.purge_abandoned_drafts(session, now)
    await session.commit()
    return queued


async def reminder_loop(app, stop, every: float = 3600.0, from_hour: int = 8) -> None:
    """Every ``every`` seconds during the day, queue the day's reminders (once per official per day)."""
    import asyncio
    import logging

    while not stop.is_set():
        now = utcnow()
        if now.astimezone(app.settings.tz).hour >= from_hour:
            try:
                async with app.sessions() as session:
                    await remind_stale(session, now, app.settings.tz)
            except Exception:  # noqa: BLE001 - a bad moment must not stop the reminders
                logging.getLogger(__name__).exception("report reminders failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass


# --- export -------------------------------------------------------------------------------

async def export_command(ctx: Context) -> Reply:
    from db.report_export import report_table, to_xlsx

    tz = ctx.services.settings.tz
    args = ctx.incoming.args.split()
    today = utcnow().astimezone(tz).date()
    start, end = today - timedelta(days=90), today
    if args:
        days = [parse_day(a) for a in args[:2]]
        if None in days:
            return Reply(_("Write: /export [from] [to], dates like 01/06/2025. Without dates: the last 90 days."))
        start = days[0]
        end = days[1] if len(days) > 1 else today
    begin, finish = day_range(start, end, tz)
    rows = await report_table(ctx.session, begin, finish, await repo.scope_of(ctx.session, ctx.user), tz)
    name = f"bao-cao_{start.isoformat()}_{end.isoformat()}.xlsx"
    return Reply(_("Reports from {start} to {end}: {count}.").format(start=format_date(start), end=format_date(end),
                                                                     count=len(rows) - 1),
                 document=to_xlsx(rows), filename=name)


# --- privacy ------------------------------------------------------------------------------

async def delete_my_data(session: AsyncSession, user: User) -> None:
    """Remove a user's personal data; their reports stay, without any link to them."""
    await repo.forget_reporter(session, user.id)
    await forget_attempts(session, user.id)
    await session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    drafts = await session.get(DialogState, user.id)
    if drafts is not None and (drafts.data or {}).get("draft"):
        await repo.discard_draft_photos(session, drafts.data["draft"])
    user.platform_user_id = f"deleted:{user.id}:{uuid.uuid4().hex[:8]}"
    user.chat_id = ""
    user.display_name = ""
    user.role = Role.citizen
    user.unit_code = None
    user.village_code = None
    user.active = False
    await session.flush()


# --- registration -------------------------------------------------------------------------

def register(registry: Registry) -> None:

    @registry.command("report", "baocao", min_role=Role.team, description=N_("Report a difficulty or a good practice"))
    async def report_command(ctx: Context):
        return await start_report(ctx)

    @registry.command("myreports", "baocaocuatoi", min_role=Role.team, description=N_("Your reports and their status"))
    async def my_reports_command(ctx: Context):
        return await my_reports(ctx)

    @registry.command("reports", "phananh", min_role=Role.official, description=N_("Handle reports (officials)"))
    async def reports_list_command(ctx: Context):
        return await reports_command(ctx)

    @registry.command("export", min_role=Role.official, description=N_("Download the reports as an Excel file"))
    async def export(ctx: Context):
        return await export_command(ctx)

    @registry.command("deletemydata", "xoadulieu", description=N_("Delete your personal data"))
    async def delete_data_command(ctx: Context):
        return Reply(_("Delete your personal data? Your name and account link will be removed. Reports you sent "
                       "stay, without your name. You will become an ordinary user."),
                     buttons=[[Button(_("🗑 Yes, delete my data"), "dd:yes")], [Button(_("No, keep it"), "dd:no")]])

    @registry.button("dd")
    async def delete_data_button(ctx: Context):
        if ctx.incoming.button != "dd:yes":
            return Reply(_("Nothing was deleted."), buttons=ctx.main_menu())
        ctx.end_dialog()
        await forget_questions(ctx.session, inbox_user_hash(ctx.services.settings.user_hash_salt, ctx.user.platform,
                                                            ctx.user.platform_user_id))
        await delete_my_data(ctx.session, ctx.user)
        return Reply(_("Your personal data has been deleted. Thank you for your help."))

    @registry.button("rp", min_role=Role.team)
    async def member_button(ctx: Context):
        return await on_member_button(ctx)

    @registry.button("ro", min_role=Role.official)
    async def official_button(ctx: Context):
        return await on_official_button(ctx)

    @registry.button("rl", min_role=Role.official)
    async def list_button(ctx: Context):
        flt, page = _parse_filter(ctx.incoming.button.split(":"))
        return await list_view(ctx, flt, page)

    @registry.button("rf", min_role=Role.official)
    async def filter_button(ctx: Context):
        flt, _page = _parse_filter(ctx.incoming.button.split(":"))
        return await category_menu(ctx, flt)

    @registry.dialog("report")
    async def report_steps(ctx: Context):
        return await report_dialog(ctx)

    @registry.dialog("rpnote")
    async def official_note(ctx: Context):
        return await note_dialog(ctx)

    registry.add_menu_item(N_("📝 Report a difficulty"), "rp:new", min_role=Role.team, order=20)
    registry.add_menu_item(N_("📋 My reports"), "rp:my", min_role=Role.team, order=21)
    registry.add_menu_item(N_("🗂 Handle reports"), "rl:o:0:0:0:1", min_role=Role.official, order=22)
