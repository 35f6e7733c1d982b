"""Guidance: browse the knowledge base by menu, answer free-text questions, take 👍/👎.

Free text that is not a command and not part of a dialog lands here. The matcher answers,
asks "did you mean…?" when the top topics are close, or says kindly what the bot covers.
Unanswered questions and 👎 go to the unanswered inbox that officials review.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from content import smalltalk
from content.kb import CATEGORIES, CATEGORY_NAMES_EN
from content.match_result import offered_topics, runners_up
from db import guidance as inbox
from db.models import Role
from handlers.i18n import N_, _, current_locale, use_locale
from handlers.messages import Button, Reply
from handlers.registry import Context, Registry

MAX_QUESTION = 500  # characters of a question we match on; longer text is cut


def _category_name(category: str) -> str:
    names = CATEGORY_NAMES_EN if current_locale.get() == "en" else CATEGORIES
    return names.get(category, category)


def categories_reply(ctx: Context) -> Reply:
    buttons = [[Button(_category_name(cat), f"g:c:{cat}")] for cat in CATEGORIES if ctx.services.kb.by_category(cat)]
    buttons.append([Button(_("⬅️ Main menu"), "menu")])
    return Reply(_("<b>Guides</b>: choose a subject."), buttons=buttons)


def category_reply(ctx: Context, category: str) -> Reply:
    topics = ctx.services.kb.by_category(category)
    if not topics:
        return categories_reply(ctx)
    buttons = [[Button(topic.title_in(current_locale.get()), f"g:t:{topic.id}")] for topic in topics]
    buttons.append([Button(_("⬅️ Subjects"), "g:cats"), Button(_("🏠 Menu"), "menu")])
    return Reply(f"<b>{escape(_category_name(category))}</b>", buttons=buttons)


HELP_TOPIC = "help.contact"
HELP_REQUEST_PREFIX = "hr"  # the help-request feature's buttons, when it is registered


def help_request_buttons(ctx: Context) -> list[list[Button]]:
    """The help-request offer, if that feature is registered in this bot (else nothing)."""
    if HELP_REQUEST_PREFIX in ctx.registry.buttons:
        return [[Button(_("🙋 Ask the digital technology team for help"), f"{HELP_REQUEST_PREFIX}:new")]]
    return []


def topic_reply(ctx: Context, topic_id: str, locale: str | None = None, also: Sequence[str] = ()) -> Reply:
    """The answer of one topic (in ``locale``, else the user's language), with related topics,
    feedback and a way back; the help topic also offers a help request when there is one.
    ``also``: topics the question may have meant instead (the matcher's runner-ups), offered
    first among the three "➡️" buttons, so that a wrong answer is one tap from the right one."""
    topic = ctx.services.kb.get(topic_id)
    if topic is None:
        return categories_reply(ctx)
    locale = locale or ctx.user.locale or "vi"
    with use_locale(locale):  # the buttons in the answer's language
        buttons = help_request_buttons(ctx) if topic.id == HELP_TOPIC else []
        others = [ctx.services.kb.get(t) for t in offered_topics(topic.id, topic.related, also)]
        buttons += [[Button(f"➡️ {other.title_in(locale)}", f"{_topic_button(ctx, locale)}{other.id}")]
                    for other in others if other is not None]
        buttons.append([Button(_("👍 Helpful"), f"g:up:{topic.id}"), Button(_("👎 Not right"), f"g:dn:{topic.id}")])
        buttons.append([Button(_("⬅️ Subjects"), "g:cats"), Button(_("🏠 Menu"), "menu")])
    return Reply(topic.body(locale).strip(), buttons=buttons)


def _topic_button(ctx: Context, locale: str) -> str:
    """The data prefix of a topic button: "g:te:" keeps a question asked in English in English
    when the user's language is another, "g:t:" answers in the user's language."""
    english = locale.lower().startswith("en") and not (ctx.user.locale or "vi").lower().startswith("en")
    return "g:te:" if english else "g:t:"


def out_of_scope_reply(ctx: Context) -> Reply:
    text = _(
        "Sorry, I only know about online public services: logging in with VNeID, submitting "
        "dossiers, paying fees online, electronic certified copies and where to get help.\n\n"
        "Try asking in other words, choose from the menu, or ask a person: the one-stop desk "
        "(Bộ phận Một cửa) of any commune People's Committee, or the community digital "
        "technology team in your village."
    )
    buttons = ctx.main_menu()
    if ctx.services.kb.get("help.contact") is not None:
        buttons = [[Button(_("📞 Where to get help"), "g:t:help.contact")], *buttons]
    return Reply(text, buttons=buttons)


def _hash(ctx: Context) -> str:
    return inbox.user_hash(ctx.services.settings.user_hash_salt, ctx.user.platform, ctx.user.platform_user_id)


def small_talk_reply(ctx: Context, kind: smalltalk.Kind, question: str) -> Reply:
    """A short friendly answer to thanks or "ok"; a question back for a lone abbreviation."""
    if kind is smalltalk.Kind.THANKS:
        return Reply(_("You're welcome! If you have another question about online public "
                       "services, just type it here."), buttons=ctx.main_menu())
    if kind is smalltalk.Kind.ACK:
        return Reply(_("All right. If you have another question, just type it here."))
    meaning = smalltalk.meaning(question)
    if meaning:
        text = _("Do you mean “{meaning}”? Please type your whole question, for example "
                 "“quên mật khẩu VNeID thì làm sao”.").format(meaning=escape(meaning))
    else:
        text = _("I did not understand “{text}”. Please type your whole question, for example "
                 "“quên mật khẩu VNeID thì làm sao”.").format(text=escape(question[:20]))
    return Reply(text, buttons=[[Button(_("📚 Guides"), "g:cats")]])


async def answer_question(ctx: Context):
    """Answer free text with a topic, a "did you mean" question, or a kind refusal."""
    question = ctx.incoming.text.strip()[:MAX_QUESTION]
    mapped = await inbox.mapped_topic(ctx.session, question)
    if mapped and ctx.services.kb.get(mapped):
        return topic_reply(ctx, mapped)
    kind = smalltalk.answered_by_itself(question)
    if kind is not None:
        return small_talk_reply(ctx, kind, question)
    result = ctx.services.matcher.match(question)
    ctx.state.data = {**(ctx.state.data or {}), "last_question": question}
    if result.topic is not None:
        # an English question is answered in English, whatever the user's language
        return topic_reply(ctx, result.topic, "en" if result.language == "en" else None, runners_up(result))
    if result.suggestions:
        locale = "en" if result.language == "en" else ctx.user.locale or "vi"
        with use_locale(locale):
            buttons = [[Button(ctx.services.kb.get(t).title_in(locale), f"{_topic_button(ctx, locale)}{t}")]
                       for t in result.suggestions[:3]]
            buttons.append([Button(_("Another question"), "g:other")])
            return Reply(_("Did you mean…?"), buttons=buttons)
    await inbox.log_question(ctx.session, kind=inbox.InboxKind.unanswered, text=question,
                             user_hash=_hash(ctx), candidates=result.candidates)
    return out_of_scope_reply(ctx)


def register(registry: Registry) -> None:
    registry.add_menu_item(N_("📚 Guides"), "g:cats", order=10)
    registry.on_text(answer_question)

    @registry.command("guides", "huongdan", description=N_("Step-by-step guides"))
    async def guides(ctx: Context):
        return categories_reply(ctx)

    @registry.button("g")
    async def press(ctx: Context):
        _prefix, action, arg = (ctx.incoming.button.split(":", 2) + ["", ""])[:3]
        if action == "cats":
            return categories_reply(ctx)
        if action == "c":
            return category_reply(ctx, arg)
        if action == "t":
            return topic_reply(ctx, arg)
        if action == "te":  # a topic offered with an answer to a question asked in English
            return topic_reply(ctx, arg, "en")
        if action == "up":
            return Reply(_("Thank you! Glad it helped."), buttons=ctx.main_menu())
        if action == "dn" and ctx.services.kb.get(arg) is not None:
            question = (ctx.state.data or {}).get("last_question") or ctx.services.kb.get(arg).title
            await inbox.log_question(ctx.session, kind=inbox.InboxKind.dislike, text=question,
                                     user_hash=_hash(ctx), topic_id=arg)
            return Reply(_("Thank you, we will review this answer. You can ask again in other words, "
                           "or ask a person for help."), buttons=out_of_scope_reply(ctx).buttons)
        if action == "other":
            data = dict(ctx.state.data or {})
            question = data.pop("last_question", None)
            ctx.state.data = data
            if question:
                await inbox.log_question(ctx.session, kind=inbox.InboxKind.unanswered, text=question,
                                         user_hash=_hash(ctx))
            return Reply(_("Please type your question again in other words, for example "
                           "\"cách nộp lệ phí trên điện thoại\"."), buttons=[[Button(_("📚 Guides"), "g:cats")]])
        return categories_reply(ctx)

    @registry.command("unanswered", "chuatraloi", min_role=Role.official,
                    description=N_("Questions the bot could not answer"))
    async def unanswered(ctx: Context):
        return await unanswered_reply(ctx)

    @registry.button("u", min_role=Role.official)
    async def resolve(ctx: Context):
        parts = ctx.incoming.button.split(":")
        if len(parts) >= 3 and parts[1] in ("map", "ign") and parts[2].isdigit():
            topic = parts[3] if parts[1] == "map" and len(parts) > 3 else None
            if parts[1] == "map" and (topic is None or ctx.services.kb.get(topic) is None):
                return await unanswered_reply(ctx)
            closed = await inbox.resolve_group(ctx.session, int(parts[2]), topic)
            if closed:
                done = (_("Mapped {count} questions to “{title}”.").format(count=closed, title=escape(ctx.services.kb.get(topic).title))
                        if topic else _("Ignored {count} questions; they will not come back.").format(count=closed))
            else:
                done = _("That group was already handled.")
            return [Reply(done), await unanswered_reply(ctx)]
        return await unanswered_reply(ctx)


async def unanswered_reply(ctx: Context) -> Reply:
    """The most frequent open question groups, each with map/ignore buttons."""
    groups = await inbox.open_groups(ctx.session, limit=5)
    if not groups:
        return Reply(_("No unanswered questions right now. 🎉"))
    lines = [_("<b>Most frequent unanswered questions</b>")]
    buttons: list[list[Button]] = []
    for number, group in enumerate(groups, 1):
        dislikes = group.kinds.get("dislike", 0)
        note = _(" ({count} × 👎)").format(count=dislikes) if dislikes else ""
        lines.append(f"{number}. “{escape(group.text[:200])}” × {group.count}{note}")
        row = [Button(f"{number} → {ctx.services.kb.get(t).title[:24]}", f"u:map:{group.id}:{t}")
               for t in group.top_topics[:2] if ctx.services.kb.get(t) is not None]
        row.append(Button(_("{number}: ignore").format(number=number), f"u:ign:{group.id}"))
        buttons.append(row)
    return Reply("\n".join(lines), buttons=buttons)
