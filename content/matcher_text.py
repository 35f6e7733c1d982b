"""Normalisation of a citizen's question: abbreviations, teen code, Nghệ Tĩnh dialect and
synonyms rewritten to one canonical spelling, filler dropped, syllable terms built.

The word tables are data, in ``content/lexicon/*.toml`` (an editor may change them without
touching Python); they are read once when this module is imported.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from content.text import fold_diacritics, rewrite_phrases

LEXICON_DIR = Path(__file__).parent / "lexicon"


def _load(name: str) -> dict:
    with (LEXICON_DIR / f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _words(text: str) -> list[str]:
    """A space-separated word list; "_" joins the words of one phrase."""
    return [unicodedata.normalize("NFC", word).replace("_", " ") for word in text.split()]


_NORMALISE = _load("normalise")
_WORDS = _load("words")
_SCOPE = _load("scope")
_ENGLISH = _load("english")
_OUT_OF_SCOPE = _load("out_of_scope")
OUT_OF_SCOPE_EXAMPLES: tuple[list[str], list[str]] = (_OUT_OF_SCOPE["examples"], _OUT_OF_SCOPE["examples_en"])
"""Everyday questions the bot does not answer (Vietnamese, English): the learned models' extra class."""

ABBREVIATIONS: dict[str, str] = _NORMALISE["abbreviations"]
DIALECT_ACCENTED: dict[str, str] = _NORMALISE["dialect_accented"]
DIALECT_FOLDED_SAFE: dict[str, str] = _NORMALISE["dialect_folded_safe"]
_CHI_COMPOUND_NEXT = frozenset(_words(_NORMALISE["context"]["chi_compound_next"]))
_MO_BEFORE = frozenset(_words(_NORMALISE["context"]["mo_before"]))
_DK_REGISTER_NEXT = frozenset(_words(_NORMALISE["context"]["dk_register_next"]))
_DK_REGISTER_PREV = frozenset(_words(_NORMALISE["context"]["dk_register_prev"]))
# "xin chào" / "bạn là ai" must survive the filler removal: those phrases are whole questions.
_KEEP_PHRASES = frozenset(_words(_NORMALISE["context"]["keep_phrases"]))
PHRASE_SYNONYMS: dict[str, str] = _load("synonyms")["phrases"]
FILLER = frozenset(_WORDS["filler"].split())
GENERIC_WORDS: str = _WORDS["generic"]
FOLD_AMBIGUOUS: str = _WORDS["fold_ambiguous"]
OUT_OF_SCOPE_CUES: str = _SCOPE["out_of_scope_cues"]
ACCENTED_ONLY_CUES: str = _SCOPE["accented_only_cues"]
THIRD_PARTY_NAMES: str = _SCOPE["third_party_names"]
DOMAIN_ANCHORS: str = _SCOPE["domain_anchors"]
ANCHORS_ACCENTED: str = _SCOPE["anchors_accented"]
SCAM_SIGNS: str = _SCOPE["scam_signs"]

WISHES_FIRST: tuple[str, ...] = tuple(_words(_WORDS["wishes_first"]))
WISHES: tuple[str, ...] = tuple(_words(_WORDS["wishes"]))
"""Good wishes, the first at a clause's start: such clauses are left out of a longer question
(``matcher.without_pleasantries``)."""

_QUESTION = _WORDS["question"]
_QUESTION_WORDS = frozenset(_words(_QUESTION["words"]))
_QUESTION_FOLDED = frozenset(_QUESTION["words_folded"].split())
_QUESTION_PAIRS = frozenset(_words(_QUESTION["pairs_folded"]))
_QUESTION_ENDS = frozenset(_words(_QUESTION["ends"]))
_QUESTION_PARTICLES = frozenset(_words(_QUESTION["particles"]))
_QUESTION_STARTS = frozenset(_QUESTION["english_starts"].split())
_ENGLISH_SUBJECTS = frozenset(_QUESTION["english_subjects"].split())

ENGLISH_STOPWORDS = frozenset(_ENGLISH["stopwords"].split())
ENGLISH_CUES = frozenset(_ENGLISH["out_of_scope_cues"].split())

_TOKEN = re.compile(r"\w+", re.UNICODE)

_FOLDED: dict[str, str] = {}
FOLDED_AT_MOST = 10_000  # tokens remembered (~2 MB); typed junk must not grow the process


def _fold(token: str) -> str:
    """fold_diacritics, memoised per token (the vocabulary of questions is small)."""
    folded = _FOLDED.get(token)
    if folded is None:
        folded = fold_diacritics(token)
        if len(_FOLDED) < FOLDED_AT_MOST:
            _FOLDED[token] = folded
    return folded


def _fold_all(tokens: Sequence[str]) -> list[str]:
    """``[_fold(token) for token in tokens]``, the remembered ones looked up in one pass."""
    folded = list(map(_FOLDED.get, tokens))
    if None in folded:
        folded = [_fold(token) if known is None else known for token, known in zip(tokens, folded)]
    return folded


def _has_marks(token: str) -> bool:
    return _fold(token) != token


_SYLLABLE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvx])?"
    r"(oai|oay|oao|oeo|uay|uoi|uou|uya|uye|uyu|ieu|yeu|"
    r"ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ya|ye|[aeiouy])"
    r"(ch|ng|nh|[cmnpt])?"
)


_SYLLABLES: dict[str, bool] = {}
SYLLABLES_AT_MOST = 5_000  # tokens whose answer is remembered


def is_vietnamese_syllable(folded: str) -> bool:
    """Whether a folded token is spelled like a Vietnamese syllable (so it is no typo)."""
    known = _SYLLABLES.get(folded)
    if known is None:
        known = _SYLLABLE.fullmatch(folded) is not None
        if len(_SYLLABLES) < SYLLABLES_AT_MOST:
            _SYLLABLES[folded] = known
    return known


_VNI_KEY = re.compile(r"(?<=[a-z])[1-9]")
_TELEX_HORN = re.compile(r"(?<=[aou])w")
_TELEX_DOUBLE = re.compile(r"([aeo])\1|(d)d")
_FIRST_VOWEL = re.compile(r"[aeiouyw]")
_TONE_KEYS = str.maketrans("", "", "sfrxjz")
_KEY_BEFORE_VOWEL = re.compile(r"[sfrxjz]+[aeiouyw]")


_UNTELEXED: dict[str, str | None] = {}


def untelex(token: str) -> str | None:
    """``_untelex``, remembered for up to SYLLABLES_AT_MOST tokens."""
    try:
        return _UNTELEXED[token]
    except KeyError:
        read = _untelex(token)
        if len(_UNTELEXED) < SYLLABLES_AT_MOST:
            _UNTELEXED[token] = read
        return read


def _untelex(token: str) -> str | None:
    """The folded syllable a folded ``token`` spells when it was typed with the Vietnamese keyboard
    off, its Telex or VNI keys left in the word ("tooi" -> "toi", "thanh toasn" -> "toan",
    "ddawng" -> "dang", "kys" -> "ky", "tho6ng" -> "thong"); None if it has no such keys or what is
    left is no Vietnamese syllable. Telex: "dd" đ, "aa ee oo" â ê ô, "w" ă ơ ư, and a tone key
    (s f r x j, z to clear) after the vowels, where no Vietnamese syllable has those letters; VNI:
    a digit 1-9 after a letter."""
    if len(token) < 2 or not token.isascii() or not token[0].isalpha():
        return None
    word = _VNI_KEY.sub("", token) if len(token) >= 3 else token
    vowel = _FIRST_VOWEL.search(word)
    if vowel is None:
        return None
    start = vowel.start()
    if _KEY_BEFORE_VOWEL.search(word, start):
        return None  # a tone key ends the vowels: "taxi", "visa" are no Telex
    word = word[:start] + word[start:].translate(_TONE_KEYS)  # tone keys come after the vowel
    word = _TELEX_DOUBLE.sub(r"\1\2", _TELEX_HORN.sub("", word)).replace("w", "u")
    if word == token or not is_vietnamese_syllable(word):
        return None
    return word


def _strip_html(text: str) -> str:
    return re.sub(r"<[^>]+>|&\w+;|https?://\S+", " ", text)


_SENTENCE_END = re.compile(r"[\n.;:•]")


def english_heading(body_en: str | None) -> str:
    """The first line of an English body (its bold title), without markup."""
    if not body_en:
        return ""
    return _strip_html(body_en.strip().split("\n", 1)[0])


def body_sentences(body: str | None) -> list[str]:
    """The sentences of an answer body (lines, and pieces between . ; : •), markup removed: the
    learned models read them as more examples of their topic."""
    return [piece.strip() for piece in _SENTENCE_END.split(_strip_html(body or "")) if piece.strip()]


_GENERIC_ACCENTED = frozenset(unicodedata.normalize("NFC", w) for w in GENERIC_WORDS.split())
_GENERIC_FOLDED = frozenset(fold_diacritics(w) for w in _GENERIC_ACCENTED - set(FOLD_AMBIGUOUS.split()))


_THIRD_PARTY = frozenset(THIRD_PARTY_NAMES.split())
_ANCHORS = frozenset(fold_diacritics(w).replace("_", " ") for w in DOMAIN_ANCHORS.split())
_ANCHORS_ACCENTED = frozenset(ANCHORS_ACCENTED.split())


def _is_generic_word(word: str, folded: bool = True) -> bool:
    """Whether one syllable is a generic word (or a number); a folded one is compared with the
    folded generic words, an accented one with the accented."""
    return word in (_GENERIC_FOLDED if folded else _GENERIC_ACCENTED) or word.isdigit()


def _is_generic(term: str, folded: bool = True) -> bool:
    """Whether every syllable of a uni/bigram is generic (``_is_generic_word``)."""
    return all(_is_generic_word(part, folded) for part in term.split(" "))


def _canonical_abbrev(token: str, prev: str | None, nxt: str | None) -> str:
    """Return the expansion of one typed token given its neighbours."""
    if token in ("dk", "đk"):
        if nxt is None or nxt in ("không", "ko", "k", "hok", "khg", "kg", "chưa", "chua", "ạ",
                                  "a", "à", "nữa", "nua", "rồi", "roi", "r", "hông", "hong"):
            return "được"
        if nxt in _DK_REGISTER_NEXT or prev in _DK_REGISTER_PREV or prev is None:
            return "đăng ký"
        return "được"
    if token in DIALECT_ACCENTED:
        if token == "chi":
            if nxt in _CHI_COMPOUND_NEXT:
                return token
            return "gì"
        return DIALECT_ACCENTED[token]
    if token in DIALECT_FOLDED_SAFE:
        return DIALECT_FOLDED_SAFE[token]
    if token == "mo" and (nxt is None or prev in _MO_BEFORE):
        return "đâu"
    if token in ("k", "v", "r", "t") and prev is not None and prev.isdigit():
        return token  # "10 k", "2 v"
    return ABBREVIATIONS.get(token, token)


def _build_phrase_table() -> tuple[dict[tuple[str, ...], tuple[str, ...]], dict[str, int]]:
    """The phrase synonyms by their folded words, and the longest phrase starting with each word."""
    table = {tuple(key.split()): tuple(value.split()) for key, value in PHRASE_SYNONYMS.items()}
    longest: dict[str, int] = {}
    for key in table:
        longest[key[0]] = max(longest.get(key[0], 0), len(key))
    return table, longest


_PHRASES, _PHRASE_LONGEST = _build_phrase_table()


_IN_CONTEXT = frozenset({"dk", "đk", "chi", "mo", "k", "v", "r", "t"})
"""The tokens ``_canonical_abbrev`` reads with their neighbours; every other token has one expansion."""
_EXPANSIONS: dict[str, list[str]] = {
    token: _canonical_abbrev(token, None, None).split()
    for token in {*ABBREVIATIONS, *DIALECT_ACCENTED, *DIALECT_FOLDED_SAFE} - _IN_CONTEXT
}


def question_words(text: str) -> list[str] | None:
    """The words of ``text`` as ``expand_tokens``, ``smalltalk.wants_person`` and
    ``EnglishMatcher.reads_english`` each find them, when they find the same (``text`` in NFC,
    without "_"); else None."""
    if "_" in text or not unicodedata.is_normalized("NFC", text):
        return None
    return _TOKEN.findall(text.lower())


def asks(text: str) -> bool:
    """Whether a sentence or clause reads as a question or a request: a "?", a question word
    (``[question]`` of words.toml: "gì", "ở đâu", "cho hỏi", "how"), a last word that asks
    ("... được không ạ", "xong chưa"), or an English clause opening as a question ("can", "do")."""
    if "?" in text:
        return True
    raw = _TOKEN.findall(unicodedata.normalize("NFC", text).lower())
    tokens = expand_tokens(text, raw)
    if not tokens:
        return False
    if not _QUESTION_WORDS.isdisjoint(tokens) or (tokens[0] in _QUESTION_STARTS and _english_opening(tokens)):
        return True
    typed_folded = [f if f == t else "" for f, t in zip(_fold_all(raw), raw)]  # "" where typed with marks
    if not _QUESTION_FOLDED.isdisjoint(typed_folded):
        return True
    if any(f"{a} {b}" in _QUESTION_PAIRS for a, b in zip(typed_folded, typed_folded[1:]) if a and b):
        return True
    end = len(tokens)
    while end and tokens[end - 1] in _QUESTION_PARTICLES:
        end -= 1
    return bool(end) and tokens[end - 1] in _QUESTION_ENDS


def _english_opening(tokens: list[str]) -> bool:
    """Whether a clause opening with an English question word (``english_starts``) is English: "do",
    "can", "may" also open Vietnamese clauses typed without marks ("do mưa lũ", "cần gấp", "máy"), so
    those must be followed by an English subject or a word that is no Vietnamese syllable."""
    if not is_vietnamese_syllable(tokens[0]):
        return True
    return len(tokens) > 1 and (tokens[1] in _ENGLISH_SUBJECTS or not is_vietnamese_syllable(_fold(tokens[1])))


def expand_tokens(text: str, raw: list[str] | None = None) -> list[str]:
    """Return the tokens of ``text`` with abbreviations and dialect expanded, before the phrase
    synonyms (which may hide an out-of-scope compound: "nộp tiền điện" -> "thanh toán điện").
    ``raw``: its words (``question_words``), if already found."""
    if raw is None:
        raw = _TOKEN.findall(unicodedata.normalize("NFC", text).lower().replace("_", " "))
    expanded: list[str] = []
    for i, token in enumerate(raw):
        if token in _IN_CONTEXT:
            prev = raw[i - 1] if i else None
            nxt = raw[i + 1] if i + 1 < len(raw) else None
            expanded.extend(_canonical_abbrev(token, prev, nxt).split())
        else:
            fixed = _EXPANSIONS.get(token)
            if fixed is None:
                expanded.append(token)  # no abbreviation: itself (one \w+ token, no space)
            else:
                expanded.extend(fixed)
    return expanded


def normalize_tokens(text: str, expanded: list[str] | None = None) -> list[str]:
    """Return the canonical accented tokens of ``text`` (abbreviations, dialect, synonyms)."""
    if expanded is None:
        expanded = expand_tokens(text)
    folded = _fold_all(expanded)
    if _PHRASE_LONGEST.keys().isdisjoint(folded):
        return list(expanded)  # no word starts a phrase synonym: the usual case

    def longest_at(i: int) -> tuple[int, list[str]] | None:  # the longest phrase synonym from i
        for size in range(min(_PHRASE_LONGEST[folded[i]], len(folded) - i), 0, -1):
            replacement = _PHRASES.get(tuple(folded[i : i + size]))
            if replacement is not None:
                return size, replacement
        return None

    return rewrite_phrases(expanded, longest_at, [i for i, word in enumerate(folded) if word in _PHRASE_LONGEST])


def normalize_question(text: str) -> str:
    """Return the canonical accented form of ``text`` as one string (for logs and tests)."""
    return " ".join(normalize_tokens(text))


def _content_tokens(tokens: list[str]) -> list[str]:
    joined = " ".join(tokens)
    if joined in _KEEP_PHRASES:
        return tokens
    kept = [tok for tok in tokens if tok not in FILLER]
    return kept or tokens[:0]


def _terms(tokens: Sequence[str]) -> list[str]:
    """Syllable unigrams and bigrams ("a b" joined by a space)."""
    grams = list(tokens)
    grams.extend(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    return grams


_ENGLISH_HINTS = frozenset({"how", "what", "where", "when", "which", "who", "why", "can", "do",
                            "does", "is", "are", "my", "the", "i", "to", "of", "for", "you"})


def english_tokens(text: str) -> list[str]:
    """Lower-case words of an English question, without its function words; all of them when it
    is made only of function words ("who are you", "can you help me": else it would match nothing
    and be refused, though "who are you" is an example of bot.about)."""
    words = _TOKEN.findall(text.lower())
    return [_fold(w) for w in words if w not in ENGLISH_STOPWORDS] or [_fold(w) for w in words]


def is_english(text: str) -> bool:
    """Whether ``text`` reads as English: no Vietnamese diacritics, and English function words
    or words that are no Vietnamese syllable make up most of it ("how do I pay fees online")."""
    return _reads_english(_TOKEN.findall(text.lower()))


def _reads_english(words: list[str]) -> bool:
    """``is_english`` of a question's lower-case words."""
    if not words or _fold_all(words) != words:  # a word with diacritics
        return False
    hints = sum(w in _ENGLISH_HINTS for w in words)
    foreign = sum(not is_vietnamese_syllable(w) and not w.isdigit() and w not in ABBREVIATIONS
                  for w in words)
    if hints >= 1:
        return (hints + foreign) >= max(2, 0.6 * len(words))
    return foreign >= max(3, 0.75 * len(words))
