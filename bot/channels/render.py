"""Rendering shared by the text-only channels (terminal and Zalo): HTML to plain text, numbered options."""

from __future__ import annotations

import html
import re

from handlers.i18n import _, use_locale
from handlers.messages import Reply

_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(text: str) -> str:
    """Telegram HTML to plain text: links become "label (url)", other tags vanish."""

    def link(match: re.Match) -> str:
        url, label = match.group(1), _TAG.sub("", match.group(2))
        return url if label.strip() in (url, url.split("//", 1)[-1]) else f"{label} ({url})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))


def numbered_options(reply: Reply) -> str:
    """The buttons of ``reply`` as numbered lines, with a hint on how to answer."""
    buttons = reply.all_buttons()
    if not buttons:
        return ""
    lines = [f"{i}. {button.label}" for i, button in enumerate(buttons, 1)]
    numbers = ", ".join(str(i) for i in range(1, len(buttons) + 1))
    lines.append(_("(Reply with a number: {numbers})").format(numbers=numbers))
    return "\n".join(lines)


def reply_as_text(reply: Reply) -> str:
    parts = [html_to_text(reply.text)] if reply.text else []
    with use_locale(reply.locale or "vi"):
        options = numbered_options(reply)
    if options:
        parts.append(options)
    return "\n".join(parts)


# Indivisible pieces of Telegram HTML: a tag, an entity, or one character with its combining marks.
_HTML_ATOM = re.compile(r"<[^<>]*>|&#?\w{1,32};|.[\u0300-\u036f]*", re.DOTALL)
_TEXT_ATOM = re.compile(r".[\u0300-\u036f]*", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP (most emoji) count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_text(text: str, limit: int, *, html: bool = False, measure=len) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` (as ``measure`` counts), on paragraph,
    then line, then word boundaries; never inside an entity (``&amp;``) or a tag.

    With ``html`` (Telegram), a tag still open at a cut is closed at the end of its chunk and
    opened again at the start of the next, so every chunk is valid HTML on its own. A tag
    longer than a whole chunk cannot be sent and is dropped (its text stays).
    """
    if measure(text) <= limit:
        return [text] if text else []
    atoms = (_HTML_ATOM if html else _TEXT_ATOM).findall(text)
    chunks: list[str] = []
    opened: tuple[tuple[str, str], ...] = ()  # (name, opening tag) of the tags open here
    index = 0
    while index < len(atoms):
        while index < len(atoms) and atoms[index].isspace():
            index += 1  # no chunk starts with blanks
        if index >= len(atoms):
            break
        prefix = "".join(tag for _name, tag in opened)
        size = measure(prefix) + sum(measure(f"</{name}>") for name, _tag in opened)
        if size > limit // 2:  # formatting too long to repeat: go on without it
            opened, prefix, size = (), "", 0
        stack, body, best = opened, [], {}  # best: break level -> (atoms taken, stack there)
        i = index
        while i < len(atoms):
            atom = atoms[i]
            tag = html and atom.startswith("<")
            if tag:
                new_stack, extra = _after(stack, atom)
                if new_stack is None:  # a closing tag with nothing open to close: dropped
                    atoms[i] = ""
                    continue
            else:
                new_stack, extra = stack, 0
            cost = measure(atom) + extra
            if size + cost > limit:
                break
            size += cost
            stack = new_stack
            body.append(atom)
            i += 1
            # A break drops the blank it is made at: "\n\n" between paragraphs, "\n", " ".
            if atom == "\n" and len(body) > 1 and body[-2] == "\n":
                best[3] = (len(body) - 2, len(body), stack)
            elif atom == "\n":
                best[2] = (len(body) - 1, len(body), stack)
            elif atom.isspace():
                best[1] = (len(body) - 1, len(body), stack)
            elif not tag or atom.startswith("</"):
                best[0] = (len(body), len(body), stack)
        if i >= len(atoms):
            kept, taken, end_stack = len(body), len(body), stack
        elif not body:  # one atom larger than a chunk: a huge tag is dropped, a huge character cut
            if atoms[i].startswith("<"):
                atoms[i] = ""
            else:
                atoms[i:i + 1] = list(atoms[i])
            continue
        else:  # the best break; only opening tags so far: cut after them (they go on, reopened)
            kept, taken, end_stack = best[max(best)] if best else (len(body), len(body), stack)
        piece = "".join(body[:kept])
        closing = "".join(f"</{name}>" for name, _tag in reversed(end_stack))
        if (_TAG.sub("", piece) if html else piece).strip():
            chunks.append(prefix + piece + closing)
        opened, index = end_stack, index + taken
    return chunks


def _after(stack: tuple[tuple[str, str], ...], tag: str):
    """The open-tag stack after ``tag`` (None: a stray closing tag), and how much the closing
    tags a cut would add grew by."""
    match = _TAG_NAME.match(tag)
    if match is None or tag.endswith("/>"):
        return stack, 0
    name = match.group(1).lower()
    if tag.startswith("</"):
        if stack and stack[-1][0] == name:
            return stack[:-1], -len(f"</{name}>")
        return None, 0
    return stack + ((name, tag),), len(f"</{name}>")
