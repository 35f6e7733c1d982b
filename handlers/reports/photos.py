"""Photos of a report: re-encoded without their metadata before the router takes any lock.

A photo sent as a file keeps its GPS position and can be huge; each image of a message is
re-encoded as a JPEG of at most 2560 px a side, in a thread, by :func:`prepare_photos` (a
Registry preparer: the router runs it before the message's transaction and lock). An image over :data:`MAX_PIXELS` is not
decoded at all and the member is asked for a smaller one.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from handlers.messages import Attachment, Incoming

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".gif", ".bmp")
MAX_PIXELS = 40_000_000  # 40 megapixels: more than any phone camera; a 12000×12000 PNG is 144
MAX_SIDE = 2560
MAX_PER_MESSAGE = 3


class PhotoTooLarge(ValueError):
    """The image has more than :data:`MAX_PIXELS` pixels."""


def is_image(attachment: Attachment) -> bool:
    if attachment.kind == "photo":
        return True
    return attachment.mime_type.startswith("image/") or attachment.filename.lower().endswith(IMAGE_EXTENSIONS)


def clean_photo(data: bytes) -> bytes | None:
    """Re-encode a photo without its metadata; None when it is not an image Pillow can read.

    Raises :class:`PhotoTooLarge` before decoding an image of more than :data:`MAX_PIXELS` pixels.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size  # read from the header: nothing decoded yet
            if width * height > MAX_PIXELS:
                raise PhotoTooLarge(f"{width}x{height}")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85)
            return out.getvalue()
    except PhotoTooLarge:
        raise
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is not a photo for us
        return None


@dataclass(frozen=True)
class PreparedPhoto:
    """One image of a message after :func:`prepare_photo`: JPEG ``data``, or the ``problem``."""

    data: bytes = b""
    problem: str = ""  # "too_large", "unreadable"


def _prepare(attachment: Attachment) -> PreparedPhoto:
    try:
        data = clean_photo(attachment.data)
    except PhotoTooLarge:
        return PreparedPhoto(problem="too_large")
    return PreparedPhoto(data) if data is not None else PreparedPhoto(problem="unreadable")


async def prepare_photo(attachment: Attachment) -> PreparedPhoto:
    """The image re-encoded, or why not, in a thread."""
    return await asyncio.to_thread(_prepare, attachment)


async def prepare_photos(services, sessions, incoming: Incoming) -> None:
    """A Registry preparer: re-encode the message's first images in a thread, before the router's
    transaction and lock; the results go to ``incoming.prepared["photos"]``, in image order."""
    images = [a for a in incoming.attachments if is_image(a)][:MAX_PER_MESSAGE]
    if images:
        incoming.prepared["photos"] = [await prepare_photo(a) for a in images]


def prepared_photos(incoming: Incoming) -> list | None:
    """What :func:`prepare_photos` left for this message (None when it did not run)."""
    return incoming.prepared.get("photos")
