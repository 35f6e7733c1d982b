"""Difficulty reports and good practices: the member's wizard, the official's triage, news to reporters.

One feature, one ``register()``. The parts:
  wizard     the member files a report (saved step by step in the dialog state)
  news       messages to officials about a new/reopened report, to reporters and followers; /myreports
  triage     the official's list, one report, and the actions on it
  reminders  daily reminders about untouched reports; ``reminder_loop`` is started by the process
  export     /export as an Excel file (``report_table`` is also used by the CLI)
  photos     photos re-encoded without metadata, off the loop, before any lock
  privacy    /deletemydata
  labels     the names of statuses and kinds, for chat and export alike

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

from db.guidance import forget_questions
from db.guidance import user_hash as inbox_user_hash
from db.models import Role
from handlers.extensions import add_summary_extra
from handlers.i18n import N_, _
from handlers.messages import Button, Reply
from handlers.registry import Context, Registry
from handlers.reports.export import export_command
from handlers.reports.news import my_reports
from handlers.reports.photos import prepare_photos
from handlers.reports.privacy import delete_my_data
from handlers.reports.reminders import remind_stale, reminder_loop
from handlers.reports.summary_line import report_counts
from handlers.reports.triage import (
    category_menu,
    list_view,
    note_dialog,
    on_official_button,
    parse_filter,
    reports_command,
)
from handlers.reports.wizard import on_member_button, report_dialog, start_report

__all__ = ["register", "remind_stale", "reminder_loop", "delete_my_data"]


def register(registry: Registry) -> None:
    add_summary_extra("reports", report_counts)  # a line in the officials' daily summary

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
        for forget in ctx.registry.forgetters:  # other features' personal data (help requests: phone numbers)
            await forget(ctx.session, ctx.user)
        await delete_my_data(ctx.session, ctx.user)
        return Reply(_("Your personal data has been deleted. Thank you for your help."))

    registry.button("rp", min_role=Role.team)(on_member_button)
    registry.button("ro", min_role=Role.official)(on_official_button)

    @registry.button("rl", min_role=Role.official)
    async def list_button(ctx: Context):
        flt, page = parse_filter(ctx.incoming.button.split(":"))
        return await list_view(ctx, flt, page)

    @registry.button("rf", min_role=Role.official)
    async def filter_button(ctx: Context):
        flt, _page = parse_filter(ctx.incoming.button.split(":"))
        return await category_menu(ctx, flt)

    registry.prepare(prepare_photos)  # photos re-encoded before any lock, in a thread

    registry.dialog("report", min_role=Role.team)(report_dialog)
    registry.dialog("rpnote", min_role=Role.official)(note_dialog)

    registry.add_menu_item(N_("📝 Report a difficulty"), "rp:new", min_role=Role.team, order=20)
    registry.add_menu_item(N_("📋 My reports"), "rp:my", min_role=Role.team, order=21)
    registry.add_menu_item(N_("🗂 Handle reports"), "rl:o:0:0:0:1", min_role=Role.official, order=22)
