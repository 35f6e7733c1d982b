"""The router: who is speaking, which handler, and the dialog state, for every channel.

A channel turns a platform update into an :class:`Incoming`, calls :meth:`Router.handle`,
and renders the :class:`Reply` objects it gets back. Everything that decides anything
(users, roles, dialog state, button authorisation) happens here and in the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from html import escape
from typing import Any

from sqlalchemy import bindparam, delete, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from content.text import read_int
from db.base import utcnow
from db.dialog import remember_buttons
from db.locks import lock_user_sync
from db.models import DialogState, ProcessedUpdate, Role, User
from handlers.i18n import N_, _, normalize_locale, use_locale
from handlers.messages import Incoming, Reply, build_documents
from handlers.registry import Context, Registry, cannot_handle

log = logging.getLogger(__name__)


class Router:
    """Dispatches an :class:`Incoming` to the handler the features registered for it."""

    def __init__(self, app: Any, registry: Registry) -> None:
        self.app = app  # bot.app.App: sessions, write_lock, settings and the handler services
        self.registry = registry

    # --- dispatch -----------------------------------------------------------------------------
    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Handle one incoming event in one database session; return the replies to send.

        Per message, for a known user: one INSERT (de-duplication), on PostgreSQL the user's
        advisory lock, one SELECT (user and dialog state together), the handler's own
        statements, one UPDATE of the dialog state, COMMIT. A conflict with another process
        (a unique violation, a deadlock) rolls everything back and is tried once more: the
        user never sees it.

        Deferred documents (a large export) are built after the transaction and the write lock,
        in a thread; the features' preparers run before them (see :meth:`_handle_once`).
        """
        return await build_documents(await self._handle_retrying(incoming))

    async def _handle_retrying(self, incoming: Incoming) -> list[Reply]:
        try:
            return await self._handle_once(incoming)
        except DBAPIError as exc:
            if not _is_conflict(exc):
                raise
            log.warning("conflict with a concurrent transaction (%s); handling the message again",
                        type(exc.orig).__name__)
        return await self._handle_once(incoming)

    async def _handle_once(self, incoming: Incoming) -> list[Reply]:
        # The session is opened and closed outside the write lock: closing it takes a loop
        # iteration (SQLAlchemy closes in a task of its own), and holding the lock across it
        # would let one message through per loop iteration under load.
        if self.registry.preparers and incoming.attachments:  # slow reads (a spreadsheet), outside the lock
            await self.registry.run_preparers(self.app.services, self.app.sessions, incoming)
        async with self.app.sessions() as session:
            async with self.app.write_lock:
                # De-duplication and the user's rows in one trip into SQLAlchemy's greenlet
                # (each AsyncSession call is one: a new greenlet and two switches).
                loaded = await session.run_sync(self._begin, incoming)
                if loaded is None:
                    log.info("duplicate update %s:%s ignored", incoming.platform, incoming.update_id)
                    return []
                user, state = loaded
                with use_locale(user.locale):
                    ctx = Context(self.app.services, session, incoming, user, state, self.registry)
                    replies = _as_list(await self._dispatch(ctx))
                    for reply in replies:
                        reply.locale = reply.locale or ctx.user.locale
                    self._remember_buttons(state, replies)
                    state.updated = utcnow()
                    if inspect(state).persistent:
                        await session.run_sync(_save_state, state)
                    await session.commit()
            return replies

    def _begin(self, session: Session, incoming: Incoming) -> tuple[User, DialogState] | None:
        """Record the update (None if it is a duplicate), then load the user and their state."""
        if incoming.update_id and not self._first_delivery(session, incoming):
            return None
        # Per-user order across processes: this user's messages (and the outbox remembering
        # buttons for them) wait here until the transaction holding the lock ends.
        lock_user_sync(session, incoming.platform, incoming.user_id)
        return self._load_user(session, incoming)

    @staticmethod
    def _first_delivery(session: Session, incoming: Incoming) -> bool:
        """Record the update's key in this message's transaction; False if already recorded.

        The row is written before any handler runs (a plain INSERT, no unit-of-work flush), so
        a duplicate never reaches a handler, and it commits with whatever the handler does —
        also when a handler commits part-way — so a crash before the commit leaves the update
        to be handled on redelivery, and one after it makes the redelivery a duplicate.
        """
        key = f"{incoming.platform}:{incoming.update_id}"[:96]
        try:
            session.execute(_RECORD_UPDATE, {"key": key})
        except IntegrityError:
            session.rollback()
            return False
        return True

    def _load_user(self, session: Session, incoming: Incoming) -> tuple[User, DialogState]:
        """The speaking user and their dialog state (both created if new), in one query."""
        row = (session.execute(
            _USER_AND_STATE, {"platform": incoming.platform, "platform_user_id": incoming.user_id})).first()
        user, state = row if row is not None else (None, None)
        settings = self.app.settings
        if user is None:
            # INSERT … ON CONFLICT DO NOTHING: a first message handled at the same moment
            # elsewhere (a process without the lock, e.g. the CLI) makes this a no-op, not an error.
            session.execute(_insert_ignoring(session, User).values(
                platform=incoming.platform, platform_user_id=incoming.user_id,
                chat_id=incoming.chat_id, display_name=incoming.display_name[:200],
                role=Role.citizen,
                locale=normalize_locale(settings.default_locale),  # Vietnamese first; /language switches
            ))
            user, state = (session.execute(
                _USER_AND_STATE, {"platform": incoming.platform, "platform_user_id": incoming.user_id})).one()
        # Assign only what changed: an unchanged user costs no UPDATE and no flush here (the
        # commit, or a handler's first query, flushes what did change).
        if incoming.platform == "telegram" and incoming.user_id in settings.admin_telegram_ids \
                and user.role != Role.admin:
            user.role = Role.admin
        if incoming.chat_id and user.chat_id != incoming.chat_id:
            user.chat_id = incoming.chat_id
        if incoming.display_name and user.display_name != incoming.display_name[:200]:
            user.display_name = incoming.display_name[:200]
        if user.active is not True:
            user.active = True
        if state is None:
            session.execute(_insert_ignoring(session, DialogState).values(
                user_id=user.id, data={}, options=[], shown=[]))
            state = session.get(DialogState, user.id)
        return user, state

    async def _dispatch(self, ctx: Context):
        incoming, state = ctx.incoming, ctx.state
        # A typed option number stands for the button in that position (text-only channels).
        if incoming.button is None and incoming.command is None and not incoming.attachments:
            typed = read_int(incoming.text.strip().rstrip("."), max_digits=3)
            if typed is not None and state.options and 1 <= typed <= len(state.options):
                incoming.button = state.options[typed - 1]
        registry = self.registry
        if incoming.button is not None:
            return await self._press(ctx, incoming.button)
        if incoming.command is not None:
            cmd = registry.commands.get(incoming.command)
            if cmd is None:
                return Reply(_("I don't know the command /{name}. Send /help to see what I can do.")
                             .format(name=escape(incoming.command, quote=False)), buttons=ctx.main_menu())
            if not ctx.role.at_least(cmd.min_role):
                return _not_allowed()
            return await cmd.handler(ctx)
        if state.dialog:
            handler = registry.dialogs.get(state.dialog)
            if handler is not None:
                if not ctx.role.at_least(registry.dialog_roles.get(state.dialog, Role.citizen)):
                    ctx.end_dialog()  # the role was taken away mid-dialog
                    return _not_allowed()
                return await handler(ctx)
            ctx.end_dialog()
        if incoming.attachments and registry.attachment_handlers:
            return await registry.handle_attachment(ctx)
        if incoming.text.strip() and registry.text_handler is not None:
            return await registry.text_handler(ctx)
        return cannot_handle(ctx)

    async def _press(self, ctx: Context, data: str):
        if data not in (ctx.state.shown or []):
            log.warning("refused button %r from user %s: never shown", data[:64], ctx.user.id)
            return Reply(_("This button is no longer valid. Here is the main menu."),
                         buttons=ctx.main_menu())
        prefix = data.split(":", 1)[0]
        entry = self.registry.buttons.get(prefix)
        if entry is None:
            return Reply(_("This button is no longer valid. Here is the main menu."),
                         buttons=ctx.main_menu())
        handler, min_role = entry
        if not ctx.role.at_least(min_role):
            return _not_allowed()
        return await handler(ctx)

    @staticmethod
    def _remember_buttons(state: DialogState, replies: Iterable[Reply]) -> None:
        remember_buttons(state, ([b.data for b in reply.all_buttons()] for reply in replies))


# Built once: a statement object keeps its compiled-cache key, so each message skips building
# the statement and computing the key. The insert is on the table (plain Core, not the ORM's
# bulk insert); ``created`` still gets its default.
_RECORD_UPDATE = insert(ProcessedUpdate.__table__)
_USER_AND_STATE = (
    select(User, DialogState).outerjoin(DialogState, DialogState.user_id == User.id)
    .where(User.platform == bindparam("platform"), User.platform_user_id == bindparam("platform_user_id")))


_STATE_COLUMNS = ("dialog", "step", "data", "options", "shown", "updated")
_SAVE_STATE = (
    update(DialogState.__table__).where(DialogState.__table__.c.user_id == bindparam("state_user_id"))
    .values({name: bindparam(name) for name in _STATE_COLUMNS}))


def _save_state(session: Session, state: DialogState) -> None:
    """Write the dialog state with one prebuilt UPDATE instead of a unit-of-work flush.

    The state is taken out of the session first (so no flush writes it again); a later
    ``session.get(DialogState, …)`` in this transaction (the outbox) reads the row written here.
    """
    if state in session.deleted:  # a pending delete: leave it to the flush
        return
    values = {name: getattr(state, name) for name in _STATE_COLUMNS}
    values["state_user_id"] = state.user_id
    session.expunge(state)
    if session.connection().execute(_SAVE_STATE, values).rowcount != 1:
        # what the unit of work raises when the row it updates is gone
        raise StaleDataError("UPDATE statement on table 'dialog_states' expected to update 1 row(s); "
                             "0 were matched.")


def _insert_ignoring(session: Session, model):
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` in this session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model).on_conflict_do_nothing()


_CONFLICT_STATES = {"23505", "40P01", "40001"}  # unique violation, deadlock, serialization failure


def _is_conflict(exc: DBAPIError) -> bool:
    """A conflict with a concurrent transaction that running the message again resolves."""
    if isinstance(exc, IntegrityError) and "unique" in str(exc.orig).lower():
        return True
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in _CONFLICT_STATES


def _as_list(result) -> list[Reply]:
    if result is None:
        return []
    if isinstance(result, Reply):
        return [result]
    return list(result)


def _not_allowed() -> Reply:
    return Reply(_("Sorry, this is only for community digital technology teams or officials. "
                   "If you are one, ask your commune for an invite code."))


async def purge_processed_updates(session: AsyncSession, older_than) -> int:
    """Forget de-duplication keys older than ``older_than`` (platforms redeliver within hours)."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.created < older_than))
    return result.rowcount or 0


# Message ids used only through variables above, listed for the extractor.
N_("Main menu")
