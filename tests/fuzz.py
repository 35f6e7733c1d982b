"""Mixed webhook traffic for the soak bench (bench/soak.py) and its short version in the tests.

Valid messages, button presses, garbage JSON, oversized texts, hostile files and malformed Zalo
events, drawn from a seeded ``random.Random`` so a run can be repeated. Each item says where it
goes: ``("telegram", body)`` or ``("zalo", body)``; a body of ``bytes`` is posted raw.
"""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

TEXTS = ["/start", "/menu", "/help", "/baocao", "/tiendo", "/xoadulieu", "/language", "/join ABCDEFGHJK",
         "1", "2", "3", "9", "0", "²", "①", "٣", "１", "1.", "-1", "99999999999999999999",
         "bỏ qua", "không", "có", "<b>đậm</b> &amp; <script>", "&", "<", "\x00\x01\x1f", "\u202etxet",
         "\u200b\u200b", "😀" * 50, "e\u0323\u0302" * 300, "BC-①", "BC-000001", "0912/345/678",
         "liên hệ balan@gmail.com hoặc (0912) 345678"]


def _questions() -> list[str]:
    lines = []
    for path in sorted(DATA.glob("questions-*.tsv")):
        lines += [line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return [line for line in lines if line.strip()] or ["làm căn cước ở đâu"]


def big_png(width: int = 12000, height: int = 12000) -> bytes:
    """A valid grey PNG of ``width`` x ``height`` that is ~150 KB on the wire (zeros compress)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def many_cells_xlsx(cells: int = 400_000) -> bytes:
    """An .xlsx whose one sheet declares ``cells`` empty styled cells (a few hundred KB)."""
    columns = 100
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{_col(c)}{r}" s="0"/>' for c in range(columns)) + "</row>"
                   for r in range(1, cells // columns + 1))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{rows}</sheetData></worksheet>')
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def hostile_files() -> list[tuple[str, bytes, str]]:
    """(file name, bytes, MIME type) of files that once hurt a bot like this one."""
    return [
        ("so-lieu.xlsx", many_cells_xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("anh-lon.png", big_png(), "image/png"),
        ("hong.xlsx", random.Random(1).randbytes(20_000), "application/vnd.openxmlformats-officedocument."
                                                           "spreadsheetml.sheet"),
        ("unicode.csv", "\ufeffĐơn vị\tSố hồ sơ\nXã A\t12\n".encode("utf-16"), "text/csv"),
        ("nhieu-cot.csv", (",".join(f"cot{i}" for i in range(16_000)) + "\n1\n").encode(), "text/csv"),
        ("dieu-khien.csv", "Đơn vị,Số\nXã\x00B,1\x07\n".encode(), "text/csv"),
    ]


class Traffic:
    """Draws the next webhook call; ``telegram_fake`` / ``zalo_fake`` hold the files to fetch."""

    def __init__(self, rng: random.Random, telegram_fake, zalo_fake, *, users: int = 200,
                 staff: dict[int, str] | None = None, skip: tuple[str, ...] = ()) -> None:
        self.skip = skip  # kinds not to send, e.g. ("tg-file",)
        self.rng = rng
        self.telegram = telegram_fake
        self.zalo = zalo_fake
        self.users = users
        self.staff = staff or {}  # telegram user id -> role, for users who may send files
        self.questions = _questions()
        self.update_id = 10_000_000
        self.message_id = 0
        self.files = [(name, telegram_fake.add_file(data, filename=name, mime_type=mime), mime)
                      for name, data, mime in hostile_files()]
        self.zalo_photo = zalo_fake.serve_file("lon.png", big_png(), "image/png")
        self.counts: dict[str, int] = {}

    def next(self) -> tuple[str, str, object]:
        """(kind, channel, body)."""
        makers = {self.tg_text: 40, self.tg_press: 12, self.tg_garbage: 10, self.tg_oversized: 2,
                  self.tg_file: 3, self.zalo_text: 20, self.zalo_malformed: 10, self.zalo_other: 3}
        makers = {maker: weight for maker, weight in makers.items()
                  if maker.__name__.replace("_", "-") not in self.skip}
        [maker] = self.rng.choices(list(makers), weights=list(makers.values()))
        kind, channel, body = maker()
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return kind, channel, body

    # --- Telegram -----------------------------------------------------------------------
    def _user(self) -> int:
        return 700_000 + self.rng.randrange(self.users)

    def _update(self, **content) -> dict:
        self.update_id += 1
        return {"update_id": self.update_id, **content}

    def _message(self, user: int, **content) -> dict:
        self.message_id += 1
        return {"message_id": self.message_id, "date": int(time.time()),
                "from": {"id": user, "is_bot": False, "first_name": "Fuzz", "language_code": "vi"},
                "chat": {"id": user, "type": "private", "first_name": "Fuzz"}, **content}

    def _text(self) -> str:
        return self.rng.choice(self.questions) if self.rng.random() < 0.6 else self.rng.choice(TEXTS)

    def tg_text(self):
        text = self._text()
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
        return "tg-text", "telegram", self._update(message=self._message(self._user(), text=text,
                                                                         **({"entities": entities} if entities else {})))

    def tg_press(self):
        user = self._user()
        shown = self.telegram.buttons(self.telegram.last_message(user)) if self.telegram.last_message(user) else []
        data = [d for row in shown for _label, d in row if d]
        choice = self.rng.choice(data) if data and self.rng.random() < 0.8 else self.rng.choice(
            ["rp:send", "ro:o:1", "dd:yes", "x" * 64, "gd:topic:none", ""])
        query = {"id": str(self.rng.getrandbits(60)), "from": {"id": user, "is_bot": False, "first_name": "Fuzz"},
                 "chat_instance": f"ci{user}", "data": choice,
                 "message": self._message(user, text="...")}
        return "tg-press", "telegram", self._update(callback_query=query)

    def tg_garbage(self):
        user = self._user()
        body = self.rng.choice([
            {}, [], [1, 2, 3], 0, 12.5, "update", None, True, {"update_id": "x"}, {"update_id": -1},
            {"update_id": 1, "message": "not a dict"}, {"update_id": 2, "message": {"chat": "x"}},
            self._update(poll={"id": "p", "question": "?", "options": [], "total_voter_count": 0,
                               "is_closed": False, "is_anonymous": True, "type": "regular",
                               "allows_multiple_answers": False}),
            self._update(edited_message=self._message(user, text="sửa")),
            self._update(message=self._message(user, sticker={"file_id": "s", "file_unique_id": "s", "width": 1,
                                                              "height": 1, "is_animated": False,
                                                              "is_video": False, "type": "regular"})),
            self._update(message={**self._message(user, text="nhóm"), "chat": {"id": -100, "type": "group"}}),
            self._update(callback_query={"id": 1, "from": 5, "chat_instance": "c"}),
            {"update_id": 3, "message": {"message_id": "a", "date": "b", "chat": {"id": [], "type": 5}}},
            {"a" * 1000: ["b" * 1000] * 50},
            self._nested(60),
        ])
        return "tg-garbage", "telegram", body

    def _nested(self, depth: int) -> dict:
        body: dict = {"update_id": 5}
        for _ in range(depth):
            body = {"message": body}
        return body

    def tg_oversized(self):
        if self.rng.random() < 0.3:
            return "tg-oversized", "telegram", b'{"update_id": 1, "pad": "' + b"x" * 3_000_000 + b'"}'
        text = "".join(self.rng.choice("aăâbcdđeêghiklmnoôơpqrstuưvxy &<>\n") for _ in range(self.rng.choice(
            [4097, 10_000, 60_000])))
        return "tg-oversized", "telegram", self._update(message=self._message(self._user(), text=text))

    def tg_file(self):
        name, record, mime = self.rng.choice(self.files)
        user = self.rng.choice(list(self.staff)) if self.staff and self.rng.random() < 0.7 else self._user()
        document = {"file_id": record["file_id"], "file_unique_id": record["file_unique_id"],
                    "file_name": name, "mime_type": mime, "file_size": record["file_size"]}
        if mime == "image/png" and self.rng.random() < 0.5:
            photo = [{"file_id": record["file_id"], "file_unique_id": record["file_unique_id"],
                      "width": 12000, "height": 12000, "file_size": record["file_size"]}]
            return "tg-file", "telegram", self._update(message=self._message(user, photo=photo))
        return "tg-file", "telegram", self._update(message=self._message(user, document=document))

    # --- Zalo ---------------------------------------------------------------------------
    def _zalo_user(self) -> str:
        return f"{self.rng.randrange(self.users):020x}"

    def zalo_text(self):
        event = self.zalo.make_text_event(self._zalo_user(), self._text())
        return "zalo-text", "zalo", event if self.rng.random() < 0.5 else {"ok": True, "result": event}

    def zalo_malformed(self):
        good = self.zalo.make_text_event(self._zalo_user(), "hi")["message"]
        body = self.rng.choice([
            {}, [], 5, "x", None, {"event_name": "message.text.received", "message": "not a dict"},
            {"event_name": "message.text.received", "message": {**good, "from": "x"}},
            {"event_name": "message.text.received", "message": {**good, "chat": [1]}},
            {"event_name": "message.text.received", "message": {**good, "from": {"id": ["u"]}, "text": 5}},
            {"event_name": "message.image.received", "message": {**good, "photo_url": "file:///etc/passwd"}},
            {"event_name": "message.text.received", "message": {**good, "message_id": {"x": 1}}},
            {"ok": True, "result": [1, 2]},
            {"event_name": 5, "message": good},
        ])
        return "zalo-malformed", "zalo", body

    def zalo_other(self):
        user = self._zalo_user()
        if self.rng.random() < 0.5:
            event = self.zalo.make_text_event(user, "")
            event["event_name"] = self.rng.choice(["message.sticker.received", "message.unsupported.received"])
        else:
            event = self.zalo.make_text_event(user, "")
            event["event_name"] = "message.image.received"
            event["message"]["photo_url"] = self.zalo_photo
        return "zalo-other", "zalo", event
