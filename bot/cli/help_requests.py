"""CLI of the help-request feature: ``help-requests list`` (figures per commune, and the requests)."""

from __future__ import annotations

import json
import sys
from datetime import date

STATUSES = ("open", "taken", "done", "not_possible", "cancelled")


def register(sub) -> None:
    group = sub.add_parser("help-requests", help="citizens' requests for help from the digital teams")
    group_sub = group.add_subparsers(dest="help_command", required=True, metavar="COMMAND")
    listing = group_sub.add_parser(
        "list", help="figures per commune (opened, taken, done, median hours to take and to finish, ratings) "
                     "and the requests; never names or phone numbers")
    listing.add_argument("--unit", help="a unit code or name (accent-insensitive): that unit and the units below it")
    listing.add_argument("--status", choices=STATUSES, help="list only requests in this status (figures count all)")
    listing.add_argument("--from", dest="start", type=date.fromisoformat, help="created on or after YYYY-MM-DD")
    listing.add_argument("--to", dest="end", type=date.fromisoformat, help="created on or before YYYY-MM-DD")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=cmd_list)


async def cmd_list(args, app) -> int:
    from content.dates import day_range
    from db import help_requests as repo
    from db.units import find_units, unit_and_descendants, units_containing

    tz = app.settings.tz
    start = end = None
    if args.start or args.end:
        start, end = day_range(args.start or date(2000, 1, 1), args.end or date(2999, 12, 31), tz)
    async with app.sessions() as session:
        scope = None
        if args.unit:
            units = await find_units(session, args.unit) or await units_containing(session, args.unit)
            if len(units) != 1:
                choices = "; ".join(f"{u.code} {u.name}" for u in units[:10])
                print(f"Không tìm thấy đúng một đơn vị \"{args.unit}\"" + (f": {choices}" if choices else ""),
                      file=sys.stderr)
                return 2
            scope = await unit_and_descendants(session, units[0].code)
        requests = await repo.list_requests(session, scope, start=start, end=end)
        names = await repo.unit_names(session, {r.unit_code for r in requests}
                                      | {r.village_code for r in requests if r.village_code})
    figures = repo.figures_of(requests, names)
    total = repo.total_of(figures, "Tổng")
    listed = [r for r in requests if not args.status or r.status == args.status]

    def when(value):
        value = repo.aware(value)
        return value.astimezone(tz).isoformat(timespec="minutes") if value else None

    if args.json:
        print(json.dumps({
            "communes": [f.as_dict() for f in figures], "total": total.as_dict(),
            "requests": [{"number": r.number, "unit_code": r.unit_code, "unit_name": names.get(r.unit_code, ""),
                          "village": names.get(r.village_code or "", "") or r.village_text, "topic_id": r.topic_id,
                          "status": r.status, "routed": r.routed, "contact": r.contact, "created": when(r.created),
                          "taken_at": when(r.taken_at), "closed_at": when(r.closed_at), "rating": r.rating}
                         for r in listed]}, ensure_ascii=False, indent=2))
        return 0
    print("Xã/phường\tYêu cầu\tĐã nhận\tĐã xong\tKhông làm được\tĐang mở\tGiờ nhận (trung vị)\t"
          "Giờ xong (trung vị)\tĐánh giá")
    for f in [*figures, total]:
        rating = f"{f.rating_average:g} ({f.rating_count})" if f.rating_count else "–"
        print(f"{f.unit_name}\t{f.opened}\t{f.taken}\t{f.done}\t{f.not_possible}\t{f.still_open}\t"
              f"{_hours(f.median_hours_to_take)}\t{_hours(f.median_hours_to_finish)}\t{rating}")
    print(f"\n{len(listed)} yêu cầu" + (f" ở trạng thái {args.status}" if args.status else ""))
    for r in listed:
        print(f"{r.number}\t{names.get(r.unit_code, r.unit_code)}\t{r.status}\t{when(r.created)}")
    return 0


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
