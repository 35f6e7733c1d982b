"""A summary computed from the last import dates only equals the one from the whole history."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from content.campaign import CAMPAIGNS_DIR, load_campaign
from content.progress import TREND_POINTS, build_summary, summary_to_json
from db.progress import ProgressFigure, load_history, reporting_units


async def test_loading_only_the_dates_a_summary_needs_changes_nothing(app):
    campaign = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
    rng = random.Random(7)
    async with app.sessions() as session:
        units = [u for u in await reporting_units(session) if u.level.value == "xa"][:12]
        rows = []
        for day in range(40):
            for unit in units:
                for metric in campaign.metrics:
                    denominator = 100 + day * 3
                    rows.append(dict(campaign_id=campaign.id, date=campaign.start + timedelta(days=day),
                                     unit_code=unit.code, metric_id=metric.id,
                                     numerator=min(denominator, 30 + day * rng.randint(1, 3)),
                                     denominator=denominator))
        await session.execute(insert(ProgressFigure), rows)
        await session.commit()
        everything = await load_history(session, campaign)
        recent = await load_history(session, campaign, last_dates=TREND_POINTS + 1)
        day = campaign.start + timedelta(days=25)
        until = await load_history(session, campaign, until=day, last_dates=TREND_POINTS + 1)
    assert len(everything) == len(rows) and len({f.date for f in recent}) == TREND_POINTS + 1
    assert max(f.date for f in until) == day
    for history, on in ((recent, None), (until, day)):
        full = summary_to_json(build_summary(campaign, everything, date=on, units=units))
        limited = summary_to_json(build_summary(campaign, history, date=on, units=units))
        assert limited == full
