"""Image parts of chat requests: their width and height, read from a data URL's header bytes only, and the
tokens the vendors' documented formulas give for them (`count --chat`).

Sizes: from `"width"` and `"height"` given in the image part itself (integers, pixels; they win over the
data), or from a base64 data URL (`data:image/png;base64,...`, or Anthropic's `{"type": "base64", "data":
...}` source): only the header bytes of a PNG, JPEG, GIF or WebP file are decoded (base64 decodes at any
4-character boundary, so a JPEG's segments are skipped without decoding them), never the whole image, and a
data URL over MAX_DATA_CHARS is not read at all. An http(s) URL is never fetched: its image is not counted
unless width and height are given. Whatever cannot be read is an ImageUnreadable with the reason, which
the chat counter reports as not counted; nothing here raises anything else on hostile data.

Formulas (each with its source; `exact` False where the vendor calls its figure approximate):
- OPENAI_TILES: OpenAI's images-and-vision guide, "Calculating costs", for the gpt-4o family (gpt-4o,
  chatgpt-4o, gpt-4-turbo, gpt-4.5): `detail: low` costs 85; `high` scales to fit 2048x2048, then (when
  the shortest side is over 768) to a shortest side of 768, and costs 170 per 512-px tile + 85. `auto`
  lets the model choose between the two: counted as high, the most it can cost. The guide gives other
  constants (or a patch-based formula) for other OpenAI models; tokcli has none of them.
- ANTHROPIC_PIXELS: Anthropic's vision guide: tokens = width * height / 750 (rounded up: the guide's
  table gives 200x200 ~54, 1000x1000 ~1334, 1092x1092 ~1590), after an image whose long edge is over
  1568 px, or which would be over about 1,600 tokens (~1.15 megapixels), is scaled down, keeping its
  aspect ratio.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass

MAX_DATA_CHARS = 32 * 1024 * 1024  # a data URL longer than this is not read (OpenAI caps images at 20 MB)
MAX_SIDE = 1_000_000  # a width or height past this is not an image any vendor takes
HEADER_BYTES = 64  # what PNG, GIF and WebP headers need
MAX_JPEG_SEGMENTS = 512  # segments walked before a JPEG's frame header; past it, unreadable

OPENAI_VISION = (
    'OpenAI API docs, "Images and vision" guide, "Calculating costs" '
    "(platform.openai.com/docs/guides/images-vision), gpt-4o family, read 2026-12-07"
)
ANTHROPIC_VISION = (
    'Anthropic docs, "Vision" guide, "Evaluate image size" / "Calculate image costs" '
    "(docs.anthropic.com/en/docs/build-with-claude/vision), read 2026-12-07"
)


class ImageUnreadable(Exception):
    """An image part whose size tokcli cannot know; the message says why (shown as not counted)."""


@dataclass(frozen=True)
class ImageFormula:
    name: str  # "openai-tiles" or "anthropic-pixels"
    exact: bool  # False: the vendor calls its figure approximate
    source: str

    def tokens(self, width: int, height: int, detail: str = "auto") -> int:
        if self.name == "openai-tiles":
            return openai_tiles(width, height, detail)
        return anthropic_pixels(width, height)


OPENAI_TILES = ImageFormula("openai-tiles", True, OPENAI_VISION)
ANTHROPIC_PIXELS = ImageFormula("anthropic-pixels", False, ANTHROPIC_VISION)
OPENAI_TILE_MODELS = ("gpt-4o", "chatgpt-4o", "gpt-4-turbo", "gpt-4-vision", "gpt-4.5")  # name prefixes


def image_formula(model_name: str, provider: str | None) -> ImageFormula | str:
    """The formula for images sent to `model_name`, or why there is none (a sentence)."""
    name = model_name.lower().rsplit("/", 1)[-1]
    if provider == "anthropic" or name.startswith("claude"):
        return ANTHROPIC_PIXELS
    if name.startswith(OPENAI_TILE_MODELS) and not name.startswith("gpt-4o-mini"):
        return OPENAI_TILES
    if name in ("o200k_base", "cl100k_base"):
        return "images cost differs by model: give -m MODEL (gpt-4o family or Claude)"
    return f"no image formula in tokcli for {model_name} (it has OpenAI's gpt-4o family and Anthropic's)"


def openai_tiles(width: int, height: int, detail: str = "auto") -> int:
    """OpenAI's gpt-4o-family image tokens (see the module docstring)."""
    if detail == "low":
        return 85
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        s = 2048 / max(w, h)
        w, h = w * s, h * s
    if min(w, h) > 768:
        s = 768 / min(w, h)
        w, h = w * s, h * s
    tiles = math.ceil(math.floor(w) / 512) * math.ceil(math.floor(h) / 512)
    return 170 * tiles + 85


def anthropic_pixels(width: int, height: int) -> int:
    """Anthropic's image tokens, width * height / 750 after the documented scaling down (approximate)."""
    w, h = float(width), float(height)
    if max(w, h) > 1568:
        s = 1568 / max(w, h)
        w, h = w * s, h * s
    if w * h > 1600 * 750:
        s = math.sqrt(1600 * 750 / (w * h))
        w, h = w * s, h * s
    return math.ceil(math.floor(w) * math.floor(h) / 750)


def given_size(part: dict[str, object]) -> tuple[int, int] | None:
    """The part's own `width` and `height`, checked (ValueError naming the problem), or None without them."""
    if "width" not in part and "height" not in part:
        return None
    w, h = part.get("width"), part.get("height")
    for key, v in (("width", w), ("height", h)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= MAX_SIDE:
            raise ValueError(f"an image part's {key} must be a whole number of pixels, 1 to {MAX_SIDE:,}")
    assert isinstance(w, int) and isinstance(h, int)
    return w, h


def data_url_payload(url: str) -> str:
    """The base64 payload of a `data:` URL; ImageUnreadable for any other URL or a non-base64 data URL."""
    if not url.startswith("data:"):
        scheme = url.split(":", 1)[0] if ":" in url[:16] else "a URL"
        raise ImageUnreadable(
            "an image at an http(s) URL: tokcli never fetches images; give its width and height in the part"
            if scheme in ("http", "https")
            else "not a data URL: give its width and height in the part"
        )
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        raise ImageUnreadable("a data URL that is not base64")
    return payload


class _B64:
    """Random access to the bytes of a base64 string, decoding only the 4-character groups asked for."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_DATA_CHARS:
            raise ImageUnreadable(f"image data over {MAX_DATA_CHARS // (1024 * 1024)} MiB of base64, not read")
        self.text = text
        self.size = len(text) // 4 * 3  # an upper bound (padding)

    def read(self, offset: int, n: int) -> bytes:
        start = offset // 3 * 4
        end = min(len(self.text), -(-(offset + n) // 3) * 4)
        chunk = self.text[start:end]
        try:
            data = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ImageUnreadable("image data that is not valid base64") from None
        skip = offset - start // 4 * 3
        return data[skip : skip + n]


def image_size(b64: str) -> tuple[str, int, int]:
    """(format, width, height) of the base64 image `b64` from its header bytes; ImageUnreadable otherwise."""
    data = _B64(b64)
    head = data.read(0, HEADER_BYTES)
    fmt, w, h = _size(head, data)
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ImageUnreadable(f"a {fmt} image with a size of {w}x{h} in its header")
    return fmt, w, h


def _size(head: bytes, data: _B64) -> tuple[str, int, int]:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise ImageUnreadable("a truncated PNG (no IHDR header)")
        w, h = struct.unpack(">II", head[16:24])
        return "PNG", w, h
    if head[:6] in (b"GIF87a", b"GIF89a"):
        if len(head) < 10:
            raise ImageUnreadable("a truncated GIF header")
        w, h = struct.unpack("<HH", head[6:10])
        return "GIF", w, h
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP", *_webp(head)
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG", *_jpeg(data)
    raise ImageUnreadable("not a PNG, JPEG, GIF or WebP image")


def _webp(head: bytes) -> tuple[int, int]:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    raise ImageUnreadable("a truncated or unknown WebP header")


def _jpeg(data: _B64) -> tuple[int, int]:
    """Walk a JPEG's marker segments to its frame header (SOFn), reading 4-9 bytes a segment."""
    pos = 2
    for _ in range(MAX_JPEG_SEGMENTS):
        b = data.read(pos, 9)
        if len(b) < 4 or b[0] != 0xFF:
            raise ImageUnreadable("a truncated or damaged JPEG (no frame header)")
        marker = b[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            raise ImageUnreadable("a JPEG with no frame header before its image data")
        length = int.from_bytes(b[2:4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if len(b) < 9:
                raise ImageUnreadable("a truncated JPEG frame header")
            h, w = struct.unpack(">HH", b[5:9])
            return w, h
        if length < 2:
            raise ImageUnreadable("a damaged JPEG segment")
        pos += 2 + length
    raise ImageUnreadable(f"a JPEG with over {MAX_JPEG_SEGMENTS} segments before its frame header")
