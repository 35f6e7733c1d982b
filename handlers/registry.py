"""What a handler gets and where it is registered: the context, the services and the registry.

Features register their commands, buttons, dialogs and menu items on a :class:`Registry` in
their ``register()``; the router (``bot/router.py``) looks them up. A handler sees only its
:class:`Context`: the message, the user, an open session, the dialog state and the services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import DialogState, Role, User
from handlers.i18n import _
from handlers.messages import Button, Incoming, Reply

Handler = Callable[["Context"], Awaitable["Reply | list[Reply] | None"]]
# Slow read-only work on what a user sent, before the message's transaction (see Registry.prepare).
Preparer = Callable[["Services", async_sessionmaker, Incoming], Awaitable[None]]
Forget = Callable[[AsyncSession, User], Awaitable[None]]


class Services:
    """What handlers may use beyond their session: settings, the knowledge base, the matcher.

    ``settings`` is the process's settings object (``bot.settings.Settings``); the knowledge base
    and the matcher are loaded on first use and then shared.
    """

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    @cached_property
    def kb(self):
        from content.kb import KnowledgeBase

        return KnowledgeBase.load()

    @cached_property
    def matcher(self):
        from content.matcher import Matcher

        return Matcher.from_kb(self.kb)


class Runtime(Protocol):
    """What a feature's background job gets from the process (``bot.app.App`` is one)."""

    settings: Any
    sessions: async_sessionmaker

    def beat(self, job: str) -> None:
        """``job`` just did its work (what /healthz reports as its last success)."""


@dataclass
class Context:
    """What a handler gets: the message, the user, an open session and the dialog state."""

    services: Services
    session: AsyncSession
    incoming: Incoming
    user: User
    state: DialogState
    registry: Registry

    @property
    def role(self) -> Role:
        return self.user.role

    def main_menu(self) -> list[list[Button]]:
        return self.registry.main_menu(self.user)

    def start_dialog(self, dialog: str, step: str, data: dict | None = None) -> None:
        self.state.dialog, self.state.step, self.state.data = dialog, step, dict(data or {})

    def set_step(self, step: str, **updates) -> None:
        self.state.step = step
        self.state.data = {**(self.state.data or {}), **updates}

    def end_dialog(self) -> None:
        self.state.dialog, self.state.step, self.state.data = None, None, {}


@dataclass
class Command:
    names: tuple[str, ...]
    handler: Handler
    min_role: Role
    description: str  # an N_() message id, shown in the platform's command list
    listed: bool


@dataclass
class MenuItem:
    label: str  # an N_() message id
    data: str
    min_role: Role
    order: int


class Registry:
    """Every command, button prefix, dialog and menu item the features registered."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.command_list: list[Command] = []
        self.buttons: dict[str, tuple[Handler, Role]] = {}
        self.dialogs: dict[str, Handler] = {}
        self.dialog_roles: dict[str, Role] = {}  # checked again at every step of the dialog
        self.menu_items: list[MenuItem] = []
        self.text_handler: Handler | None = None
        self.attachment_handlers: list[Handler] = []
        self.preparers: list[Preparer] = []
        self.forgetters: list[Forget] = []

    # --- registration -------------------------------------------------------------------
    def command(self, *names: str, min_role: Role = Role.citizen, description: str = "",
                listed: bool = True) -> Callable[[Handler], Handler]:
        """Register a handler for ``/name`` (the first name is the one listed)."""

        def decorate(handler: Handler) -> Handler:
            cmd = Command(tuple(names), handler, min_role, description, listed)
            self.command_list.append(cmd)
            for name in names:
                self.commands[name] = cmd
            return handler

        return decorate

    def button(self, prefix: str, min_role: Role = Role.citizen) -> Callable[[Handler], Handler]:
        """Register a handler for button data ``prefix`` or ``prefix:…``."""

        def decorate(handler: Handler) -> Handler:
            self.buttons[prefix] = (handler, min_role)
            return handler

        return decorate

    def dialog(self, name: str, min_role: Role = Role.citizen) -> Callable[[Handler], Handler]:
        """Register the handler that gets every message while a user is in dialog ``name``.

        The router checks ``min_role`` at every step: a user whose role was taken away mid-dialog
        is stopped at their next message.
        """

        def decorate(handler: Handler) -> Handler:
            self.dialogs[name] = handler
            self.dialog_roles[name] = min_role
            return handler

        return decorate

    def on_text(self, handler: Handler) -> Handler:
        """The handler of free text outside any dialog (there is one)."""
        self.text_handler = handler
        return handler

    def prepare(self, preparer: Preparer) -> Preparer:
        """Run ``preparer`` on every incoming message before its transaction, outside any lock.

        For slow, read-only work on what the user sent (reading a spreadsheet): it may open its
        own read session, run in a thread, and leave its result in ``incoming.prepared`` for the
        handler. It must never write; an exception is logged and the message handled as usual.
        """
        self.preparers.append(preparer)
        return preparer

    async def run_preparers(self, services: Services, sessions: async_sessionmaker, incoming: Incoming) -> None:
        import logging

        for preparer in self.preparers:
            try:
                await preparer(services, sessions, incoming)
            except Exception:  # noqa: BLE001 - a bad file must never stop the bot
                logging.getLogger(__name__).exception("preparing %s failed", getattr(preparer, "__name__", ""))

    def on_attachment(self, handler: Handler) -> Handler:
        """Offer files outside any dialog to ``handler``; it returns None to pass them on.

        Handlers are asked in registration order; the first reply wins.
        """
        self.attachment_handlers.append(handler)
        return handler

    def on_forget(self, forget: Forget) -> Forget:
        """Have ``forget(session, user)`` erase a feature's personal data when the user asks (/xoadulieu)."""
        self.forgetters.append(forget)
        return forget

    def add_menu_item(self, label: str, data: str, min_role: Role = Role.citizen, order: int = 50) -> None:
        self.menu_items.append(MenuItem(label, data, min_role, order))
        self.menu_items.sort(key=lambda item: item.order)

    # --- lookups ----------------------------------------------------------------------------
    async def handle_attachment(self, ctx: Context):
        """Offer the message's files to each attachment handler; apologise when none takes them."""
        for handler in self.attachment_handlers:
            reply = await handler(ctx)
            if reply is not None:
                return reply
        return cannot_handle(ctx)

    def main_menu(self, user: User) -> list[list[Button]]:
        """The main menu for ``user``: one button a row, only what their role may use."""
        return [[Button(_(item.label), item.data)] for item in self.menu_items
                if user.role.at_least(item.min_role)]

    def listed_commands(self, role: Role) -> list[tuple[str, str]]:
        """(command, translated description) pairs for the platform's command menu."""
        return [(cmd.names[0], _(cmd.description)) for cmd in self.command_list
                if cmd.listed and cmd.description and role.at_least(cmd.min_role)]


def cannot_handle(ctx: Context) -> Reply:
    """The reply to a kind of message no handler takes."""
    return Reply(_("Sorry, I can't handle this kind of message yet. "
                   "Please type your question or choose from the menu."), buttons=ctx.main_menu())
