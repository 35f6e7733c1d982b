"""The unanswered inbox: questions the bot could not answer and answers marked 👎.

Users appear only as salted hashes. Officials group the entries by similarity and map a
group to a topic (later identical questions get that topic) or ignore it (it never returns).
"""

from __future__ import annotations

import enum
import hashlib
import time
import weakref
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import JSON, Enum, Integer, String, Text, delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.redact import redact
from content.text import fold_key
from db.base import Base, utcnow

GROUP_SIMILARITY = 85  # token-set ratio (0–100) at which two questions are one group


class InboxKind(str, enum.Enum):
    unanswered = "unanswered"  # no topic, or the user chose "another question"
    dislike = "dislike"  # 👎 on an answer


class InboxStatus(str, enum.Enum):
    new = "new"
    mapped = "mapped"
    ignored = "ignored"


class UnansweredQuestion(Base):
    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[InboxKind] = mapped_column(Enum(InboxKind, native_enum=False, length=12))
    text: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(String(500), index=True)
    topic_id: Mapped[str | None] = mapped_column(String(64))  # the topic disliked, or mapped to
    candidates: Mapped[list] = mapped_column(JSON, default=list)  # [[topic, score], ...]
    user_hash: Mapped[str] = mapped_column(String(32))
    status: Mapped[InboxStatus] = mapped_column(Enum(InboxStatus, native_enum=False, length=12),
                                                default=InboxStatus.new, index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionRule(Base):
    """A decision about a question group: answer it with a topic, or ignore it for good."""

    __tablename__ = "question_rules"

    folded: Mapped[str] = mapped_column(String(500), primary_key=True)
    topic_id: Mapped[str | None] = mapped_column(String(64))  # None means ignored
    created: Mapped[datetime] = mapped_column(default=utcnow)


async def forget_questions(session: AsyncSession, hashed_user: str) -> None:
    """Delete every logged question of one user (/deletemydata)."""
    await session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.user_hash == hashed_user))


def user_hash(salt: str, platform: str, user_id: str) -> str:
    return hashlib.sha256(f"{salt}:{platform}:{user_id}".encode()).hexdigest()[:32]


RULE_CACHE_TTL = 30.0  # seconds; how late a rule changed by another process (the CLI) is seen


class _RuleCache:
    """Every question rule of one database, read at most once per :data:`RULE_CACHE_TTL`.

    :func:`mapped_topic` runs for every free-text message; rules change rarely, only through
    :func:`resolve_group` (code that writes rules elsewhere must call
    ``_rule_cache(session).clear()``). That clears the cache at once and again when its
    transaction ends (commit, rollback or close), so this process never keeps a rule it saw
    before the commit, and a session holding uncommitted rule changes does not fill it; other
    processes' changes (the CLI) show within the TTL. ``generation`` stops a load that was
    under way during a clear (possible while an await yields) from storing its result.
    """

    __slots__ = ("rules", "loaded", "generation")

    def __init__(self) -> None:
        self.rules: dict[str, str | None] | None = None
        self.loaded = 0.0
        self.generation = 0

    def clear(self, *_args) -> None:
        self.rules = None
        self.generation += 1


_RULES_CHANGED = "question_rules_changed"  # session.info flag: uncommitted rules, don't cache
_rule_caches: weakref.WeakKeyDictionary[object, _RuleCache] = weakref.WeakKeyDictionary()


def _rule_cache(session: AsyncSession) -> _RuleCache:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)  # one cache per database (tests make many)
    cache = _rule_caches.get(engine)
    if cache is None:
        cache = _rule_caches[engine] = _RuleCache()
    return cache


async def _rules(session: AsyncSession) -> dict[str, str | None]:
    """Every question rule (folded question → topic, None when ignored), through the cache."""
    cache = _rule_cache(session)
    rules = cache.rules
    if rules is None or time.monotonic() - cache.loaded > RULE_CACHE_TTL:
        generation = cache.generation
        rows = await session.execute(select(QuestionRule.folded, QuestionRule.topic_id))
        rules = {folded: topic for folded, topic in rows}
        if cache.generation == generation and not session.info.get(_RULES_CHANGED):
            cache.rules, cache.loaded = rules, time.monotonic()
    return rules


async def mapped_topic(session: AsyncSession, question: str) -> str | None:
    """The topic an official mapped this exact question (ignoring accents and case) to."""
    return (await _rules(session)).get(fold_key(question)[:500])


async def log_question(session: AsyncSession, *, kind: InboxKind, text: str, user_hash: str,
                       candidates: list[tuple[str, float]] | None = None,
                       topic_id: str | None = None) -> UnansweredQuestion:
    """Log one entry; questions matching an ignored rule are stored already ignored.

    The row is written with the message's commit (no flush of its own).
    """
    text = redact(text)
    folded = fold_key(text)[:500]
    ignored = [rule for rule, topic in (await _rules(session)).items() if topic is None]
    status = (InboxStatus.ignored if any(fuzz.token_set_ratio(folded, rule) >= GROUP_SIMILARITY
                                         for rule in ignored) else InboxStatus.new)
    entry = UnansweredQuestion(kind=kind, text=text[:2000], folded=folded, topic_id=topic_id,
                               candidates=[[t, s] for t, s in (candidates or [])[:3]],
                               user_hash=user_hash, status=status)
    session.add(entry)
    return entry


@dataclass
class QuestionGroup:
    id: int  # the id of its first entry; stable while the group is open
    text: str
    count: int
    kinds: dict[str, int]
    top_topics: list[str]
    entry_ids: list[int]


async def open_groups(session: AsyncSession, limit: int = 10) -> list[QuestionGroup]:
    """New entries grouped by similarity, most frequent first."""
    entries = (await session.scalars(select(UnansweredQuestion)
                                     .where(UnansweredQuestion.status == InboxStatus.new)
                                     .order_by(UnansweredQuestion.id))).all()
    groups: list[tuple[str, list[UnansweredQuestion]]] = []
    for entry in entries:
        for key, members in groups:
            if fuzz.token_set_ratio(entry.folded, key) >= GROUP_SIMILARITY:
                members.append(entry)
                break
        else:
            groups.append((entry.folded, [entry]))
    result = []
    for _key, members in groups:
        kinds: dict[str, int] = {}
        votes: dict[str, float] = {}
        for member in members:
            kinds[member.kind.value] = kinds.get(member.kind.value, 0) + 1
            if member.topic_id:
                votes[member.topic_id] = votes.get(member.topic_id, 0) + 1
            for topic, score in member.candidates or []:
                votes[topic] = votes.get(topic, 0) + float(score)
        top = sorted(votes, key=lambda t: -votes[t])[:3]
        result.append(QuestionGroup(members[0].id, members[0].text, len(members), kinds, top,
                                    [m.id for m in members]))
    result.sort(key=lambda g: (-g.count, g.id))
    return result[:limit]


async def resolve_group(session: AsyncSession, group_id: int, topic_id: str | None) -> int:
    """Map the group starting at ``group_id`` to ``topic_id``, or ignore it (``None``).

    Returns how many entries were closed (0 when the group no longer exists).
    """
    for group in await open_groups(session, limit=10_000):
        if group.id == group_id:
            break
    else:
        return 0
    status = InboxStatus.mapped if topic_id else InboxStatus.ignored
    await session.execute(update(UnansweredQuestion).where(UnansweredQuestion.id.in_(group.entry_ids))
                          .values(status=status, topic_id=topic_id))
    for folded in {e for e in (await session.scalars(
            select(UnansweredQuestion.folded).where(UnansweredQuestion.id.in_(group.entry_ids)))).all()}:
        rule = await session.get(QuestionRule, folded)
        if rule is None:
            session.add(QuestionRule(folded=folded, topic_id=topic_id))
        else:
            rule.topic_id = topic_id
    await session.flush()
    cache = _rule_cache(session)
    cache.clear()
    if not session.info.get(_RULES_CHANGED):
        def clear_when_final(sync_session, transaction) -> None:  # committed, rolled back or closed
            if transaction.parent is None:
                sync_session.info.pop(_RULES_CHANGED, None)
                cache.clear()

        event.listen(session.sync_session, "after_transaction_end", clear_when_final)
    session.info[_RULES_CHANGED] = True
    return len(group.entry_ids)
