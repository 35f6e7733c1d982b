"""Telegram channel: python-telegram-bot updates in, Bot API calls out. No decisions here."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeDefault, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot.channels.base import ChannelUnreachable, TokenRejected, apology
from bot.channels.render import split_text, utf16_len
from db.models import Role
from handlers.i18n import _, use_locale
from handlers.messages import Attachment, Incoming, RateLimited, RecipientGone, Reply

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 10 * 1024 * 1024  # bytes; larger files are refused before downloading
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
ALLOWED_UPDATES = ["message", "callback_query"]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Process different users concurrently but each user's updates one at a time, in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = getattr(update, "effective_user", None)
        if user is None:
            await coroutine
            return
        lock = self._locks[user.id]
        async with lock:
            await coroutine
        if not lock.locked() and not lock._waiters:  # forget idle users so memory stays flat
            self._locks.pop(user.id, None)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class _WatchedRequest(HTTPXRequest):
    """Bot API requests that tell /healthz when Telegram answered, and stop the process when
    Telegram refuses the token: PTB's polling ends for good on a 401 while the process would
    stay up, deaf, and a supervisor restarts only a process that exits."""

    def __init__(self, app: App, **kwargs) -> None:
        super().__init__(**kwargs)
        self._app = app

    async def do_request(self, *args, **kwargs) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        if status == 401:
            self._app.health.fatal(TOKEN_REJECTED)
        elif status == 200:
            self._app.beat("telegram")
        return status, payload


TOKEN_REJECTED = ("Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): the token is wrong or was "
                  "revoked in @BotFather. Stopping; set the right token and start the bot again.")


def build_application(app: App, *, updater: bool = True) -> Application:
    """Build the PTB Application for ``app``'s settings, wired to the router."""
    settings = app.settings
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        # No overall cap on replies: each reply answers a user's own message, and PTB's default
        # 30/s cap would throttle the whole bot to 30 updates/s (measured, BENCHMARKS.md).
        # Proactive messages are paced by the outbox at BROADCAST_RATE instead. Group limits
        # stay, and a 429 pauses and retries.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=3))
        .concurrent_updates(PerUserUpdateProcessor())
        .request(_WatchedRequest(app, connection_pool_size=256))
        .get_updates_request(_WatchedRequest(app, connection_pool_size=1))
    )
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["app"] = app
    application.add_handler(TypeHandler(Update, _on_update))
    application.add_error_handler(_on_error)
    return application


async def register_commands(application: Application) -> None:
    """Register the command list in Vietnamese (default) and English."""
    registry = application.bot_data["app"].router.registry
    for locale, language_code in (("vi", None), ("en", "en")):
        with use_locale(locale):
            commands = [BotCommand(name, description[:256])
                        for name, description in registry.listed_commands(Role.citizen)]
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeDefault(),
                                                  language_code=language_code)
        except TelegramError as exc:  # a missing command menu must not stop the bot
            log.warning("could not register the %s command list: %s", locale, exc)


async def _on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    app: App = context.application.bot_data["app"]
    incoming = await to_incoming(update, context)
    if incoming is None:
        return
    replies = await app.router.handle(incoming)
    for reply in replies:
        try:
            await send_reply(context.bot, incoming.chat_id, reply)
        except Forbidden as exc:  # blocked the bot since writing: nobody to apologise to
            log.warning("reply not delivered: %s", exc)
            return


async def to_incoming(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Incoming | None:
    """Translate a PTB Update into an Incoming, downloading any photo or document."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    common = dict(display_name=user.full_name or "", language_code=user.language_code,
                  update_id=str(update.update_id))
    if update.callback_query is not None:
        query = update.callback_query
        try:  # only stops the button's spinner: a press still counts when this fails
            await query.answer()
        except TelegramError as exc:  # "query is too old" for presses queued while the bot was down
            log.info("could not answer a button press (%s); handling it anyway", exc)
        return Incoming("telegram", str(user.id), str(chat.id), button=query.data or "", **common)
    message = update.effective_message
    if message is None:
        return None
    attachments: list[Attachment] = []
    too_big = False
    if message.photo:
        photo = message.photo[-1]
        if (photo.file_size or 0) > MAX_DOWNLOAD:
            too_big = True
        else:
            data = await (await photo.get_file()).download_as_bytearray()
            attachments.append(Attachment("photo", bytes(data), f"{photo.file_unique_id}.jpg", "image/jpeg"))
    elif message.document:
        doc = message.document
        if (doc.file_size or 0) > MAX_DOWNLOAD:
            too_big = True
        else:
            data = await (await doc.get_file()).download_as_bytearray()
            attachments.append(Attachment("document", bytes(data), doc.file_name or "file",
                                          doc.mime_type or ""))
    text = message.text or message.caption or ""
    if too_big:
        await message.reply_text(_("This file is too large (over 10 MB). Please send a smaller one."))
        return None
    if not text and not attachments:
        text = ""
        if message.sticker or message.voice or message.video or message.location or message.contact:
            await message.reply_text(_("Sorry, I can only read text, photos and files. "
                                       "Please type your question."))
            return None
    incoming = Incoming.from_text("telegram", str(user.id), str(chat.id), text, **common)
    incoming.attachments = attachments
    return incoming


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return _markup(tuple(tuple((b.label, b.data) for b in row) for row in reply.buttons))


class _SharedMarkup(InlineKeyboardMarkup):
    """An inline keyboard built once and sent many times: its wire form is computed once too.

    PTB objects are immutable, so one object can serve every reply with the same layout;
    ``to_dict`` (what PTB sends) returns a fresh copy of the precomputed dict.
    """

    __slots__ = ("_wire",)

    def __init__(self, inline_keyboard) -> None:
        super().__init__(inline_keyboard)
        object.__setattr__(self, "_wire", super().to_dict())

    def to_dict(self, recursive: bool = True):
        if not recursive:
            return super().to_dict(recursive=False)
        wire = self._wire
        return {**wire, "inline_keyboard": [[dict(button) for button in row]
                                            for row in wire["inline_keyboard"]]}


@lru_cache(maxsize=1024)
def _markup(layout: tuple[tuple[tuple[str, str], ...], ...]) -> InlineKeyboardMarkup:
    """One markup per button layout: most replies repeat a few layouts (topic answers, menus),
    and building and serialising the PTB objects anew cost ~0.2 ms a reply
    (bench/e2e_throughput.py)."""
    return _SharedMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in layout])


async def send_reply(bot, chat_id: str | int, reply: Reply) -> None:
    """Send one Reply: a photo or document (with caption when it fits), then the text."""
    chat_id = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
    markup = keyboard(reply)
    text = reply.text
    if reply.photo is not None or reply.document is not None:
        caption = text if utf16_len(text) <= CAPTION_LIMIT else None
        if reply.photo is not None:
            await bot.send_photo(chat_id, reply.photo, caption=caption,
                                 reply_markup=markup if caption is not None else None)
        else:
            await bot.send_document(chat_id, reply.document, filename=reply.filename or "file",
                                    caption=caption, reply_markup=markup if caption is not None else None)
        if caption is not None:
            return
    if not text:
        return
    chunks = _chunks(text)
    for index, chunk in enumerate(chunks):
        await bot.send_message(chat_id, chunk, reply_markup=markup if index == len(chunks) - 1 else None)


def _chunks(text: str) -> list[str]:
    return split_text(text, TEXT_LIMIT, html=True, measure=utf16_len) or [text]


async def deliver(bot, chat_id: str, reply: Reply) -> None:
    """Send a proactive message, mapping Bot API errors to channel-neutral ones for the outbox."""
    try:
        await send_reply(bot, chat_id, reply)
    except Forbidden as exc:
        raise RecipientGone(str(exc)) from exc
    except RetryAfter as exc:
        retry = exc.retry_after
        raise RateLimited(retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)) from exc
    except BadRequest as exc:
        if "chat not found" in str(exc).lower():
            raise RecipientGone(str(exc)) from exc
        raise


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and tell the user, in Vietnamese, that something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, apology())
        except TelegramError:
            log.warning("could not tell the user about the error")


class TelegramChannel:
    """The Telegram channel behind the :class:`~bot.channels.base.Channel` interface."""

    platform = "telegram"
    webhook_path = "/telegram"
    secret_header = "X-Telegram-Bot-Api-Secret-Token"

    def __init__(self, application: Application) -> None:
        self.application = application

    @classmethod
    def from_settings(cls, app: App, media=None, public_url: str = "", *, webhook: bool) -> TelegramChannel | None:
        if not app.settings.telegram_bot_token:
            return None
        return cls(build_application(app, updater=not webhook))

    @property
    def running(self) -> bool:
        return bool(self.application.running)

    async def start(self, webhook_url: str = "", secret: str = "") -> None:
        application = self.application
        try:
            await application.initialize()  # getMe
        except InvalidToken:
            raise TokenRejected(TOKEN_REJECTED) from None
        except NetworkError as exc:  # TimedOut too
            raise ChannelUnreachable(f"Telegram: {exc}") from None
        await register_commands(application)
        if webhook_url:  # the leader sets the webhook (set_webhook)
            await application.start()
            log.info("Telegram bot @%s receives updates by webhook", application.bot.username)
        else:
            await application.start()
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram bot @%s is polling", application.bot.username)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.application.initialize()  # a no-op when started
        await self.application.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            try:
                await application.updater.stop()
            except TelegramError as exc:  # polling already ended on it (a refused token)
                log.warning("Telegram polling had ended: %s", exc)
        if application.running:
            await application.stop()
        await application.shutdown()

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        await deliver(self.application.bot, chat_id, reply)

    async def on_webhook(self, body: object) -> int:
        try:
            update = Update.de_json(body, self.application.bot)
        except (ValueError, TypeError, AttributeError, KeyError):
            return 400
        # Handled here, in this user's turn, before the answer: a 200 means the message's
        # transaction committed, so Telegram delivers again what a crash interrupted (and the
        # router's de-duplication keeps it once).
        application = self.application
        await application.update_processor.process_update(update, application.process_update(update))
        return 200
