"""The member's report wizard: kind, area, place, description, photos, people; send or follow."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from content.text import read_int
from db import reports as repo
from db.base import utcnow
from db.invites import find_or_create_village
from db.models import AdminUnit, UnitLevel
from db.reports import ReportError
from handlers.i18n import _
from handlers.messages import Button, Reply, esc
from handlers.registry import Context
from handlers.reports.common import SKIP_WORDS, fold, no_buttons
from handlers.reports.labels import kind_label, people_line
from handlers.reports.news import my_reports, notify_officials_new, reopen_report, who_was_told
from handlers.reports.photos import MAX_PIXELS, is_image, prepare_photo, prepared_photos

DONE_WORDS = {"xong", "xong roi", "het", "tiep", "tiep tuc", "done", "ok", "khong co anh", "ko co anh"}


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
        no_buttons(ctx)
        return Reply(_("Step 3 of 6: type the name of the village (thôn) or residential group (tổ dân phố), "
                       "for example: Thôn 3"))
    good = data.get("kind") == "good_practice"
    if step == "desc":
        no_buttons(ctx)
        if good:
            return Reply(_("Step 4 of 6: describe the good practice in a few sentences "
                           "(what you did, for whom, what came of it). Between {min} and {max} characters.")
                         .format(min=repo.MIN_DESCRIPTION, max=repo.MAX_DESCRIPTION))
        return Reply(_("Step 4 of 6: describe the problem in a few sentences "
                       "(what happened, for whom, what you tried). Between {min} and {max} characters.")
                     .format(min=repo.MIN_DESCRIPTION, max=repo.MAX_DESCRIPTION))
    if step == "photos":
        count = await repo.draft_photo_count(ctx.session, data["draft"])
        label = _("✅ Done") if count else _("⏭ No photo")
        if good:
            return Reply(_("Step 5 of 6: send up to {max} photos of it (people being helped, a poster…), "
                           "or press the button to go on. Photos so far: {count}.")
                         .format(max=repo.MAX_PHOTOS, count=count), buttons=[[Button(label, "rp:ph")]])
        return Reply(_("Step 5 of 6: send up to {max} photos (a screenshot of the error helps), "
                       "or press the button to go on. Photos so far: {count}.")
                     .format(max=repo.MAX_PHOTOS, count=count), buttons=[[Button(label, "rp:ph")]])
    if step == "people":
        no_buttons(ctx)
        if good:
            return Reply(_("Step 6 of 6: about how many people did it help? Type a number, "
                           "or 0 if you don't know."))
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
             _("Type: {kind}").format(kind=kind_label(data.get("kind", "difficulty"))),
             _("Area: {category}").format(category=esc(category.label(ctx.user.locale) if category else "")),
             _("Place: {place}").format(place=esc(", ".join(n for n in (village.name if village else "",
                                                                          commune.name if commune else "") if n))),
             _("Description: {text}").format(text=esc(data.get("desc", ""))),
             _("Photos: {count}").format(count=photos),
             people_line(data.get("kind", "difficulty"), people if people else _("not given"))]
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


async def _take_photos(ctx: Context) -> Reply | None:
    """Store the photos of this message; None when it had none."""
    images = [a for a in ctx.incoming.attachments if is_image(a)]
    if ctx.incoming.attachments and not images:
        return Reply(_("This file is not a photo. Please send a photo, or press the button to go on."))
    if not images:
        return None
    draft = _draft(ctx)["draft"]
    count = await repo.draft_photo_count(ctx.session, draft)
    prepared = prepared_photos(ctx.incoming) or [None] * len(images)
    for attachment, photo in zip(images, prepared):
        if count >= repo.MAX_PHOTOS:
            break
        photo = photo or await prepare_photo(attachment)  # the router prepares them before its lock
        if photo.problem == "too_large":
            return Reply(_("This photo is too large ({limit} million pixels at most). Please send a smaller "
                           "photo, for example a screenshot, or send it as a photo rather than as a file.")
                         .format(limit=MAX_PIXELS // 1_000_000))
        if photo.problem:
            return Reply(_("I could not read this photo. Please send it again as a photo."))
        count = await repo.add_draft_photo(ctx.session, draft, photo.data, "image/jpeg")
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
        if not ctx.incoming.attachments and fold(text) in SKIP_WORDS | DONE_WORDS:
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
            no_buttons(ctx)
            return Reply(_("That is too short. Please describe the problem in at least {min} characters.")
                         .format(min=repo.MIN_DESCRIPTION))
        if len(text) > repo.MAX_DESCRIPTION:
            no_buttons(ctx)
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
        folded = fold(text)
        if folded in SKIP_WORDS:
            return await _next(ctx, "summary", people=None)
        people = read_int(folded, ignore=". ,", max_digits=7)
        if people is not None:
            return await _next(ctx, "summary", people=people or None)
        no_buttons(ctx)
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
    told = await who_was_told(ctx.session, report, await notify_officials_new(ctx.session, report, ctx.user))
    if report.kind == "good_practice":
        return Reply(_("Thank you for sharing this good practice! Its number is <b>{number}</b>.").format(
            number=report.number) + "\n" + told + " " + _("You will get a message here when it is acknowledged "
                                                          "or shared. See all your reports with /myreports."),
            buttons=ctx.main_menu())
    return Reply(_("Thank you! Your report was sent. Its number is <b>{number}</b>.").format(number=report.number)
                 + "\n" + told + " " + _("You will get a message here whenever its status changes. "
                                         "See all your reports with /myreports."), buttons=ctx.main_menu())


async def join_same_problem(ctx: Context, report_id: int) -> Reply:
    data = _draft(ctx)
    report = await repo.get_report(ctx.session, report_id)
    if report is None or report.unit_code != data.get("unit") or not report.status_enum.is_open:
        return await summary(ctx)
    await repo.follow(ctx.session, report, ctx.user, note=data.get("desc", ""), village_code=data.get("village"),
                      people_affected=data.get("people"))
    await _drop_draft(ctx)
    return Reply(_("Thank you. Instead of a new report, you now follow {number}: you will get its news. "
                   "The officials see that one more team met this problem.").format(number=report.number),
                 buttons=ctx.main_menu())
