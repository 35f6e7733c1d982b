"""Short-lived files served by our web server, for platforms that only send media by URL (Zalo)."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_TTL = 24 * 3600  # seconds a link keeps working


@dataclass(frozen=True)
class MediaItem:
    data: bytes
    content_type: str
    filename: str
    expires: float


class MediaStore:
    """Bytes under unguessable names (``<token>.<ext>``) that expire; kept in memory, bounded."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_items: int = 1000,
                 max_bytes: int = 256 * 1024 * 1024) -> None:
        self.ttl, self.max_items, self.max_bytes = ttl, max_items, max_bytes
        self._items: OrderedDict[str, MediaItem] = OrderedDict()
        self._bytes = 0

    def put(self, data: bytes, content_type: str, extension: str, filename: str = "") -> str:
        """Store ``data``; return its name, e.g. ``"Xk3…Q.png"`` (served at ``/media/<name>``)."""
        self._purge()
        name = f"{secrets.token_urlsafe(24)}.{extension.lstrip('.')}"
        self._items[name] = MediaItem(bytes(data), content_type, filename, time.monotonic() + self.ttl)
        self._bytes += len(data)
        while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
            _, oldest = self._items.popitem(last=False)
            self._bytes -= len(oldest.data)
        return name

    def get(self, name: str) -> MediaItem | None:
        """The item stored under ``name``, or None when unknown or expired."""
        item = self._items.get(name)
        if item is None or item.expires <= time.monotonic():
            return None
        return item

    def __len__(self) -> int:
        self._purge()
        return len(self._items)

    def _purge(self) -> None:
        now = time.monotonic()
        while self._items:
            name, item = next(iter(self._items.items()))
            if item.expires > now:  # insertion order is expiry order: the TTL is fixed
                break
            del self._items[name]
            self._bytes -= len(item.data)


def image_type(data: bytes) -> tuple[str, str]:
    """(content type, extension) of an image from its first bytes; PNG unless it looks otherwise."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "image/png", "png"
