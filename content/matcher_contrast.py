"""The part of a message that is asked, when the message also names what is NOT asked.

People say what they do not want before or beside what they want: "Không phải lệ phí hồ sơ, tôi
hỏi trả tiền điện bằng QR", "lấy kết quả chứ không phải tra cứu", "quên mật khẩu tài khoản dịch
vụ công cũ (không phải VNeID)", "muốn hỏi lệ phí, à nhầm, biên lai". Read whole, the negated words
weigh as much as the asked ones, so the bot answered the topic the person had just ruled out.
``asked_part`` returns the message with the negated part taken out (or only what follows a
self-correction), and the matcher reads that instead; None when the message has no such part.

Only clear shapes are read, on the message folded (no diacritics, lower case, the same length, so
a span found in the folded text is cut from the text as typed):

- a clause that starts with what rules something out ("không phải X", "tôi không hỏi (về) X",
  "không cần / chưa cần X", "khỏi X", "đừng X", "khoan X") and goes on "…, tôi hỏi Y", "… mà là Y",
  "… chỉ cần Y", or after a comma: that clause is cut, Y kept; a bare "mà" only after "không phải"
  ("không cần X mà vẫn Y" is "without X, still Y");
- "chứ không phải X" (and "chứ đâu phải X"), "(không phải X)", ", không phải X" and ", tôi không
  hỏi X" before a comma or the end: that part is cut, up to the next punctuation;
- a self-correction ("à nhầm", "á nhầm", "nhầm nhầm", "à không,"; "ý tôi là" beside one): the clause before
  it is cut ("muốn hỏi lệ phí, à nhầm, biên lai" reads "biên lai").

"Không phải" (and "không cần") is also "need not" ("toàn trình là không phải đi đâu", "không cần
về xã"): followed by a verb of going, paying or doing it is read as that, not as a ruled-out thing,
except before "mà là" or an explicit "tôi hỏi". What was done ("… rồi, giờ …") is context and is
never cut. English: "not the/my/a X but Y", "I'm not asking about X, I'm asking about Y", "not X, I
just want …", "forget X, …" at the start of a message ("not received it, but paid" is no
contrast), and "(not X)". A ruled-out thing is at most _THING_CHARS long.
"""

from __future__ import annotations

import re
import unicodedata

from content.text import fold_diacritics

MIN_WORDS = 2
"""What is kept must have at least this many words, else the whole message is read."""

_PRONOUN = r"(?:toi|em|minh|tui|chau|con|anh|chi|bac|co|chu|t|e|m|tao|ta|ban)"
_NOT = r"(?:khong|ko|k|hong|hok|kh|hem|chang)"
_NOT_THING = rf"(?:{_NOT}\s+phai|kp|dau\s+phai|chu\s+dau\s+phai)"
_ASK = r"(?:hoi|can|muon\s+hoi|muon|dang\s+hoi|dinh\s+hoi|y\s+la)"
# "không phải" + one of these is "need not …", not "not this thing"
_NEED_NOT_VERBS = (r"(?:di|len|den|toi|nop|tra|lam|go|chup|xep|mang|khai|dong|ra|ve|cho|doi|mat|ton|o|"
                   r"chuyen|gui|nhap|ky|xuat|in|sao|cong|chung|dang|bo|quet|tai|cai|hoc|hoi|can|lo|so)")
_STOP = r"[,.;:!?()\n]"

_THING_CHARS = 90
"""A ruled-out thing is at most this long (ten words): longer is a clause of its own, and the bound
keeps a 4,096-character message of repeated negations linear to read."""
_NEGATOR = (rf"(?P<not_thing>{_NOT_THING})|{_NOT}\s+(?:co\s+)?hoi(?:\s+ve)?|(?:{_NOT}|chua)\s+can|"
            r"khoi|dzng|khoan(?:\s+da)?")
"""What starts a clause that rules something out: "không phải", "không hỏi (về)", "không cần",
"chưa cần", "khỏi", "đừng" (written "dzng" in the folded text: folded, "đừng" and "dùng" are one word),
"khoan"."""
_START_CONTRAST = re.compile(
    rf"(?:^|(?<={_STOP}))\s*(?:(?:da|thua|a|oi|ad)\s+)*(?:{_PRONOUN}\s+)?(?:{_NEGATOR})\s+"
    rf"(?P<thing>[^,.;!?\n]{{1,{_THING_CHARS}}}?)"
    rf"(?:\s*[,.;:!-]+\s*|\s+)"
    rf"(?P<conn>ma\s+la\s+|ma\s+(?:{_PRONOUN}\s+)?(?:chi\s+|cu\s+)?{_ASK}\s+|(?P<bare>ma)\s+|"
    rf"(?:{_PRONOUN}\s+)?(?:chi\s+|cu\s+)?{_ASK}\s+|(?<=[,;:-])|(?<=[,;:-]\s))"
    rf"(?=\S)")
_CHU_NOT = re.compile(rf"\s*,?\s*chu\s+{_NOT_THING}\s+(?:[^,.;:!?()\n]|\.(?=\w))*")
_PAREN_NOT = re.compile(rf"\(\s*{_NOT_THING}\s+[^()]*\)|(?<=,)\s*{_NOT_THING}\s+[^()]*?(?=\))")
_COMMA_NOT = re.compile(rf",\s*(?:{_NOT_THING}\s+(?!{_NEED_NOT_VERBS}\b)|(?:{_PRONOUN}\s+)?{_NOT}\s+(?:co\s+)?hoi\s+)"
                        rf"(?P<thing>[^,.;:!?()\n]+)(?=[,.;!?\n]|$)")
_CORRECTION = re.compile(rf"(?:^|(?<=[\s,.;:!?]))(?:a|o|oi|ay|ui)\s+nham\s*(?:roi\s*)?[,.;:!?-]+\s*|"
                         rf"(?:^|(?<=[\s,.;:!?]))nham\s+nham\s*[,.;:!?-]*\s*|"
                         rf"(?:^|(?<=[,.;:!?]))\s*(?:a|o)\s+khong\s*[,.;:!-]+\s*|"
                         rf"(?:^|(?<=[\s,.;:!?]))y\s+{_PRONOUN}\s+la\s+")
_EN_START = re.compile(
    r"^\W*(?:(?:i'?m|i\s+am)\s+)?not\s+(?:asking\s+(?:about\s+)?|about\s+|the\s+|my\s+|an?\s+)[^.;!?\n]+?\s*[,;.-]*\s+"
    r"(?:but\s+(?:about\s+)?|i'?m\s+asking\s+(?:about\s+)?|i\s+am\s+asking\s+(?:about\s+)?|"
    r"(?:i\s+)?(?:just\s+)?(?:want|need)\s+(?:to\s+)?|asking\s+about\s+)(?=\S)")
_EN_FORGET = re.compile(r"^\W*(?:(?:hi|hello|ok|okay)\W+)?forget\s+(?:about\s+)?[^,.;!?\n]+[,.;]\s*")
""""forget X, …" at the start of an English message. ("I already did X, now …" is not cut: what was
done is the context of most such messages, in both languages.)"""
_EN_PAREN = re.compile(r"\(\s*not\s+[^()]*\)")
_WORD = re.compile(r"\w+", re.UNICODE)
_MAYBE = re.compile(rf"\b(?:{_NOT}|dau|chua)\s+(?:co\s+)?(?:phai|hoi|can)\b|\b(?:kp|khoi|dzng|khoan|not|forget)\b|nham|"
                    rf"\b[ao]\s+khong\b|\by\s+{_PRONOUN}\s+la\b")
"""Looked for after ``_LITERALS``: none of the shapes can be there without a match (most messages)."""
_LITERALS = ("phai", "hoi", "can", "kp", "khoi", "dzng", "khoan", "not", "forget", "nham", "khong")
"""Looked for before ``_MAYBE``, five times cheaper (half of the messages have none of them). Every
shape but a lone "ý tôi là" has one; "ý tôi là" is read only beside another ("à không, …, ý tôi là"):
alone it more often makes a question precise than corrects it."""
_MAX_THING_WORDS = 7
"""A ", không phải X" cut is at most this many words: a longer X is a clause of its own."""


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    kept, last = [], 0
    for start, end in sorted(spans):  # overlapping spans cut as one
        if start > last:
            kept.append(text[last:start])
        last = max(last, end)
    kept.append(text[last:])
    joined = " ".join(part.strip() for part in kept if part.strip())
    return re.sub(r"\s+([,;:!?)])", r"\1", joined).strip(" ,;-")


def asked_part(question: str) -> str | None:
    """``question`` without what it says is not asked, or None if it says nothing is not asked
    (or if what would be left has fewer than MIN_WORDS words)."""
    if not question:
        return None
    text = unicodedata.normalize("NFC", question)
    folded = fold_diacritics(text.lower().replace("đừng", "dzng"))
    if len(folded) != len(text):
        return None  # a letter that does not fold one for one: spans could not be carried over
    if not any(map(folded.__contains__, _LITERALS)) or _MAYBE.search(folded) is None:
        return None  # none of the shapes can be there: the usual case, one pass over the text
    spans: list[tuple[int, int]] = []
    for correction in _CORRECTION.finditer(folded):
        if _words(text[correction.end() : correction.end() + _THING_CHARS]) >= MIN_WORDS:
            # the slip: the clause the correction follows ("muốn hỏi lệ phí, à nhầm, biên lai")
            window = max(0, correction.start() - _THING_CHARS)  # the slip is a short clause
            before = folded[window : correction.start()].rstrip(" ,;:-")
            clause = window + max(before.rfind(stop) for stop in ".;!?\n(,") + 1
            spans.append((clause, correction.end()))
    contrast = _START_CONTRAST.search(folded)
    while contrast is not None:
        # "không phải đi đâu mà …", "không phải trả phí, …": "need not", nothing ruled out (unless
        # "mà là" or "tôi hỏi" follows)
        bare = contrast.group("bare") is not None
        weak = bare or not contrast.group("conn").strip()
        need_not = weak and re.match(rf"{_NEED_NOT_VERBS}\b", contrast.group("thing")) is not None
        # "không cần X mà vẫn Y" is "without X, still Y": a bare "mà" contrasts "không phải" only
        if not need_not and not (bare and contrast.group("not_thing") is None) and _words(contrast.group("thing")) <= _MAX_THING_WORDS + 3:
            spans.append((contrast.start(), contrast.end("conn")))
        contrast = _START_CONTRAST.search(folded, contrast.end())
    for english in (_EN_START.match(folded), _EN_FORGET.match(folded)):
        if english is not None:
            spans.append(english.span())
    spans += [m.span() for m in _CHU_NOT.finditer(folded)]
    spans += [m.span() for m in _PAREN_NOT.finditer(folded)]
    spans += [m.span() for m in _EN_PAREN.finditer(folded)]
    spans += [m.span() for m in _COMMA_NOT.finditer(folded) if _words(m.group("thing")) <= _MAX_THING_WORDS]
    if not spans:
        return None
    asked = _cut(text, spans)
    return asked if _words(asked) >= MIN_WORDS else None
