"""Invite codes, roles and villages: who may invite whom, joining, the wrong-code limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db import invites
from db.admin import grant_role
from db.base import utcnow
from db.invites import ALPHABET, Invite, JoinResult
from db.models import AdminUnit, Role, UnitLevel, User
from tests.conftest import Talker

PROVINCE = "42"


async def commune_codes(app, n=2):
    async with app.sessions() as session:
        return list((await session.scalars(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa)
                                           .order_by(AdminUnit.code).limit(n))).all())


async def user_of(app, platform_user_id, platform="console"):
    async with app.sessions() as session:
        return await session.scalar(select(User).where(User.platform == platform,
                                                       User.platform_user_id == platform_user_id))


async def make_code(app, role=Role.team, unit=None, **kw):
    async with app.sessions() as session:
        code = await invites.create_invite(session, role, unit or (await commune_codes(app, 1))[0], **kw)
        await session.commit()
        return code


async def test_codes_are_long_random_and_use_an_unambiguous_alphabet(app):
    codes = {await make_code(app) for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert len(code) >= 8 and set(code) <= set(ALPHABET)
        assert not set(code) & set("0O1IL")
    async with app.sessions() as session:
        stored = (await session.scalars(select(Invite.code_hash))).all()
    assert not set(stored) & codes  # only hashes are stored


async def test_an_official_invites_a_team_member_who_joins_and_names_the_village(app):
    commune = (await commune_codes(app, 1))[0]
    async with app.sessions() as session:
        await grant_role(session, "console", "9", "official", commune)
        name = (await session.get(AdminUnit, commune)).name
    official, member = Talker(app, "9"), Talker(app, "2")
    await official.say(f"/invite team {commune}")
    code = official.text.split("<code>")[1].split("</code>")[0]
    assert name in official.text

    await member.say(f"/join {code}")
    assert "village" in member.text.lower() or "thôn" in member.text.lower()
    await member.say("1")  # a typed number is the village's name here, not a stale option
    user = await user_of(app, "2")
    assert user.role is Role.team and user.unit_code == commune
    async with app.sessions() as session:
        village = await session.get(AdminUnit, user.village_code)
    assert village.level is UnitLevel.thon and village.parent_code == commune and village.name == "Thôn 1"

    # The code was for one use only.
    await Talker(app, "3").say(f"/join {code}")
    assert (await user_of(app, "3")).role is Role.citizen


async def test_villages_are_matched_without_accents(app):
    commune = (await commune_codes(app, 1))[0]
    async with app.sessions() as session:
        a = await invites.find_or_create_village(session, commune, "thôn 3")
        b = await invites.find_or_create_village(session, commune, "Thon 3")
        c = await invites.find_or_create_village(session, commune, "3")
        d = await invites.find_or_create_village(session, commune, "Thôn Trung Tiến")
        await session.commit()
    assert a.code == b.code == c.code
    assert d.code != a.code


async def test_the_deep_link_start_code_joins(app):
    code = await make_code(app, Role.official)
    member = Talker(app, "5")
    await member.say(f"/start {code}")
    assert (await user_of(app, "5")).role is Role.official


async def test_officials_invite_only_in_their_scope_and_admins_anything(app):
    first, second = await commune_codes(app, 2)
    async with app.sessions() as session:
        commune_official = await grant_role(session, "console", "10", "official", first)
        province_official = await grant_role(session, "console", "11", "official", PROVINCE)
        admin = await grant_role(session, "console", "12", "admin", PROVINCE)
        units = {code: await session.get(AdminUnit, code) for code in (first, second, PROVINCE)}
        assert await invites.may_invite(session, commune_official, Role.team, units[first])
        assert await invites.may_invite(session, commune_official, Role.official, units[first])
        assert not await invites.may_invite(session, commune_official, Role.team, units[second])
        assert not await invites.may_invite(session, commune_official, Role.official, units[PROVINCE])
        assert await invites.may_invite(session, province_official, Role.official, units[second])
        assert await invites.may_invite(session, admin, Role.official, units[PROVINCE])
        assert not await invites.may_invite(session, admin, Role.team, units[PROVINCE])  # teams are in communes
        assert not await invites.may_invite(session, admin, Role.admin, units[PROVINCE])

    official = Talker(app, "10")
    await official.say(f"/invite team {second}")
    assert "<code>" not in official.text
    citizen = Talker(app, "13")
    await citizen.say(f"/invite team {first}")
    assert "<code>" not in citizen.text


async def test_five_wrong_codes_in_an_hour_block_even_a_right_code(app):
    code = await make_code(app)
    member = Talker(app, "7")
    for _ in range(5):
        await member.say("/join ABCDEFGHJK")
        assert "not right" in member.text or "không đúng" in member.text
    await member.say(f"/join {code}")
    assert (await user_of(app, "7")).role is Role.citizen
    async with app.sessions() as session:
        user = await user_of(app, "7")
        # An hour later the user may try again.
        result = await invites.redeem(session, user, code, now=utcnow() + timedelta(hours=1, minutes=1))
        assert result.result is JoinResult.joined


async def test_expired_and_multi_use_codes(app):
    expired = await make_code(app, days=0.0001)
    multi = await make_code(app, uses=2)
    async with app.sessions() as session:
        users = [User(platform="console", platform_user_id=f"u{i}", chat_id="x", role=Role.citizen)
                 for i in range(3)]
        session.add_all(users)
        await session.flush()
        later = utcnow() + timedelta(minutes=5)
        assert (await invites.redeem(session, users[0], expired, now=later)).result is JoinResult.expired
        assert (await invites.redeem(session, users[0], multi)).result is JoinResult.joined
        assert (await invites.redeem(session, users[1], multi)).result is JoinResult.joined
        assert (await invites.redeem(session, users[2], multi)).result is JoinResult.used_up


@pytest.mark.parametrize("text", ["abcd-efgh-jk", " ABCDEFGHJK "])
def test_codes_are_read_forgivingly(text):
    assert invites.looks_like_code(text)
    assert invites.hash_code(text) == invites.hash_code("ABCDEFGHJK")


async def test_deleting_my_data_does_not_reset_the_wrong_code_count(app):
    """Issue 12 point 11: the count is kept, hashed, after /xoadulieu."""
    code = await make_code(app)
    member = Talker(app, "7")
    for _ in range(5):
        await member.say("/join ABCDEFGHJK")
    await member.say("/xoadulieu")
    await member.press("dd:yes")
    async with app.sessions() as session:
        attempts = (await session.scalars(select(invites.JoinAttempt))).all()
    assert len(attempts) == 5 and all(a.user_id is None and len(a.account) == 32 for a in attempts)
    assert all(a.account != "7" for a in attempts)
    await member.say(f"/join {code}")  # the same account, a new user row: still refused
    assert "Too many wrong codes" in member.text or "quá nhiều" in member.text.lower()
    assert (await user_of(app, "7")).role is Role.citizen


async def test_many_accounts_together_hit_a_global_limit(app):
    """Issue 12 point 11: 50 accounts with 5 guesses each cannot make 250 guesses."""
    code = await make_code(app)
    refused = 0
    for account in range(50):
        talker = Talker(app, f"g{account}")
        for _ in range(5):
            await talker.say("/join ABCDEFGHJK")
            refused += "tạm dừng" in talker.text or "paused" in talker.text
    async with app.sessions() as session:
        wrong = await session.scalar(select(func.count(invites.JoinAttempt.id)))
    assert wrong == invites.GLOBAL_MAX_WRONG and refused == 250 - invites.GLOBAL_MAX_WRONG
    late = Talker(app, "late")
    await late.say(f"/join {code}")  # even a right code waits until the window has moved on
    assert (await user_of(app, "late")).role is Role.citizen
    async with app.sessions() as session:
        user = await user_of(app, "late")
        joined = await invites.redeem(session, user, code, now=utcnow() + invites.GLOBAL_WINDOW)
    assert joined.result is JoinResult.joined
