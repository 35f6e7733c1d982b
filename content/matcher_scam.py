"""Signs that a message quotes a scam: what ``safety.scam`` warns about, seen in what people paste.

People paste the SMS, the Zalo message or the call they got and ask whether it is real. The words
of the pasted text then name a procedure, a fee or an account, and pull the matcher to that topic;
the signs of a scam are few and the knowledge base cannot list them all: a link to a site that is
not the state's (``.gov.vn``), an app file to install, remote-control software, a prize, a key to
press on a call, money to transfer to a person's account, a stranger. ``scam_signs`` counts the
kinds found (the word list is ``scam_signs`` in ``content/lexicon/scope.toml``); the matcher adds
weight to ``safety.scam`` when a message about public services shows one.
"""

from __future__ import annotations

import re

from content.matcher_text import _TOKEN, SCAM_SIGNS, _fold_all
from content.text import fold_diacritics

_LINK = re.compile(r"(?<![\w@.-])(?:https?://)?((?:[a-z0-9-]+\.)+([a-z]{2,12}))(?:/\S*)?(?![\w-])")
_FILES = frozenset({"jpg", "jpeg", "png", "heic", "pdf", "doc", "docx", "xls", "xlsx", "zip", "rar", "txt", "mp4"})
_PLACE = re.compile(r"[a-z]{1,2}\.[a-z]+")
"""A place written short ("tp.hcm", "h.can", "p.nam", "tx.hong"): two labels, the first of one or
two letters: no web address."""
_APP_FILE = re.compile(r"\.apk\b")
_STATE = re.compile(r"(?:^|\.)gov\.vn$")
_PHRASES = [tuple(fold_diacritics(sign).split("_")) for sign in SCAM_SIGNS.split()]
_FIRST_WORDS = frozenset(phrase[0] for phrase in _PHRASES)
_SIGNS = re.compile(r"(?<!\S)(?:" + "|".join(re.escape(" ".join(phrase)) for phrase in _PHRASES) + r")(?!\S)")


def scam_signs(text: str, words: list[str] | None = None) -> int:
    """How many kinds of scam sign ``text`` shows (0, 1 or 2): a link to a site outside
    ``.gov.vn`` or an app file; a listed word or phrase. ``words``: the words of ``text`` in
    lower case (``matcher_text.question_words``), if already found."""
    lowered = text.lower()
    found = 0
    if "." in lowered and (_APP_FILE.search(lowered) or any(
            not _STATE.search(host) and tld not in _FILES and not _PLACE.fullmatch(host)
            for host, tld in _LINK.findall(lowered))):
        found += 1
    if words is None:
        words = _TOKEN.findall(lowered)
    folded = _fold_all(words)
    if not _FIRST_WORDS.isdisjoint(folded) and _SIGNS.search(" ".join(folded)):
        found += 1
    return found
