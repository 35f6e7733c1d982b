"""Campaign progress: the summary (chat, daily push, CLI text), the figures template, importing
files, /update, subscriptions and the daily job. One ``register()``; the process starts the
daily job (:func:`handlers.progress.daily.start_daily_job`).

Modules: ``summary`` (loading and the words, through Babel), ``chat`` (/progress, /template,
importing a file in two steps, subscriptions), ``update`` (the /update dialog), ``daily`` (the
daily push through the outbox). The arithmetic and the file reading are pure, in
``content/progress.py`` and ``content/progress_import.py``.
"""

from __future__ import annotations

from db.models import Role
from handlers.i18n import N_, _
from handlers.messages import Reply
from handlers.progress import chat, update
from handlers.registry import Context, Registry


def register(registry: Registry) -> None:
    # Every command here is for officials; each handler checks the official's scope itself.
    for names, description, handler in (
            (("progress", "tiendo"), N_("Campaign progress of your unit, with a chart"), chat.show_progress),
            (("template", "mau"), N_("The Excel template for the campaign figures"), chat.send_template),
            (("update", "capnhat"), N_("Type your unit's campaign figures"), update.start_update),
            (("subscribe", "dangky"), N_("Get the campaign summary every day"), chat.do_subscribe),
            (("unsubscribe", "huydangky"), N_("Stop the daily campaign summary"), chat.do_unsubscribe),
    ):
        registry.command(*names, min_role=Role.official, description=description)(handler)

    actions = {"template": chat.send_template, "update": update.start_update, "save": update.save_update,
               "import": chat.confirm_import, "sub": chat.do_subscribe, "unsub": chat.do_unsubscribe}

    @registry.button("pg", min_role=Role.official)
    async def press(ctx: Context):
        action, _sep, arg = ctx.incoming.button.partition(":")[2].partition(":")
        if action == "skip":
            return await update.skip_metric(ctx, arg)
        if action == "cancel":
            ctx.end_dialog()
            return Reply(_("Cancelled. Nothing was saved."), buttons=ctx.main_menu())
        return await actions.get(action, chat.show_progress)(ctx)

    registry.dialog(update.DIALOG, min_role=Role.official)(update.update_dialog)  # role checked at every step
    registry.dialog(chat.IMPORT_DIALOG, min_role=Role.official)(chat.import_dialog)
    registry.prepare(chat.prepare_figures)
    registry.on_attachment(chat.on_attachment)
    registry.add_menu_item(N_("📊 Campaign progress"), "pg:show", min_role=Role.official, order=60)
