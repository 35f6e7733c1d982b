"""Help requests in the officials' Excel export: figures per commune, and one row per request.

No names and no phone numbers: the export travels further than the chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from content.sheets import Sheet
from db import help_requests as repo
from handlers.help.common import status_label, when_label
from handlers.i18n import use_locale

FIGURE_HEADERS = ["Xã/phường", "Số yêu cầu", "Đã có người nhận", "Đã xong", "Không làm được", "Người dân rút lại",
                  "Đang mở", "Thời gian nhận (giờ, trung vị)", "Thời gian xong (giờ, trung vị)", "Số lượt đánh giá",
                  "Đánh giá trung bình (1–5)"]
FIGURE_WIDTHS = (26, 10, 12, 10, 12, 12, 10, 16, 16, 12, 14)
REQUEST_HEADERS = ["Số yêu cầu", "Xã/phường", "Thôn/tổ dân phố", "Cần giúp", "Thời gian tiện", "Liên hệ",
                   "Trạng thái", "Gửi tới", "Gửi lúc", "Nhận lúc", "Đóng lúc", "Báo cán bộ lúc", "Lý do / ghi chú",
                   "Đánh giá", "Ý kiến người dân"]
REQUEST_WIDTHS = (12, 22, 18, 40, 16, 12, 20, 12, 17, 17, 17, 17, 30, 9, 30)
ROUTED = {"village": "Tổ của thôn", "commune": "Tổ của xã", "officials": "Cán bộ", "nobody": "Chưa ai"}


async def help_sheets(session: AsyncSession, kb, start: datetime, end: datetime, scope: set[str] | None,
                      tz) -> list[Sheet]:
    """Two sheets for the requests created in [start, end) within ``scope`` (None: everywhere)."""
    requests = await repo.list_requests(session, scope, start=start, end=end)
    names = await repo.unit_names(session, {r.unit_code for r in requests}
                                  | {r.village_code for r in requests if r.village_code})
    figures = repo.figures_of(requests, names)
    figure_rows: list[list] = [FIGURE_HEADERS]
    for f in [*figures, repo.total_of(figures, "Tổng")] if figures else []:
        figure_rows.append([f.unit_name, f.opened, f.taken, f.done, f.not_possible, f.cancelled, f.still_open,
                            f.median_hours_to_take, f.median_hours_to_finish, f.rating_count, f.rating_average])

    def when(value):
        value = repo.aware(value)
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    request_rows: list[list] = [REQUEST_HEADERS]
    with use_locale("vi"):
        for r in requests:
            topic = kb.get(r.topic_id) if r.topic_id else None
            request_rows.append([
                r.number, names.get(r.unit_code, r.unit_code), names.get(r.village_code or "", "") or r.village_text,
                topic.title if topic is not None else r.need, when_label(r.when_text),
                "Điện thoại" if r.contact == "phone" else "Qua bot", status_label(r.status),
                ROUTED.get(r.routed, r.routed), when(r.created), when(r.taken_at), when(r.closed_at),
                when(r.escalated_at), r.close_note, r.rating, r.rating_comment])
    return [("Hỗ trợ theo xã", figure_rows, FIGURE_WIDTHS), ("Yêu cầu hỗ trợ", request_rows, REQUEST_WIDTHS)]
