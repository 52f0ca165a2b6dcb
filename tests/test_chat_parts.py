"""count --chat beyond text: tool definitions (the OpenAI Cookbook's num_tokens_for_tools, checked against the
cookbook's own published API counts), tool calls, images by OpenAI's and Anthropic's documented formulas
(their docs' worked examples), image sizes read from real PNG/JPEG/GIF/WebP headers built here, and hostile
image data reported as not counted, never a crash."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest

from tokcli.budget.images import ImageUnreadable, anthropic_pixels, image_size, openai_tiles

# the cookbook's example (section 7): 101 prompt tokens counted by the OpenAI API for gpt-4o, 105 for gpt-4
COOKBOOK_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]},
    }, "required": ["location"]},
}}]  # fmt: skip
COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


def png(width: int, height: int) -> bytes:
    """A real, complete PNG (8-bit greyscale, all black)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))  # fmt: skip


def jpeg(width: int, height: int, app_bytes: int = 0) -> bytes:
    """A JPEG's header: SOI, an APP1 segment of `app_bytes` (EXIF-like padding before the frame), a quant
    table, the baseline frame header (SOF0) with the size, then the start of scan."""
    app = b"\xff\xe1" + struct.pack(">H", app_bytes + 2) + b"E" * app_bytes
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return (
        b"\xff\xd8" + app + dqt + sof + b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00" + b"\x00" * 16
    )


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(tmp_path, doc, name="c.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(p)


# --- the formulas, against the vendors' own worked examples ---


@pytest.mark.parametrize(
    ("w", "h", "detail", "tokens"),
    [
        (1024, 1024, "high", 765),  # OpenAI: scaled to 768x768, 4 tiles: 170 * 4 + 85
        (2048, 4096, "high", 1105),  # OpenAI: 1024x2048, then 768x1536, 6 tiles
        (4096, 8192, "low", 85),  # OpenAI: low detail is fixed
        (128, 64, "high", 255),  # smaller than 768: not scaled up, one tile
    ],
)
def test_openai_tiles_match_the_guide(w, h, detail, tokens):
    assert openai_tiles(w, h, detail) == tokens


@pytest.mark.parametrize(("w", "h", "tokens"), [(200, 200, 54), (1000, 1000, 1334), (1092, 1092, 1590)])
def test_anthropic_pixels_match_the_guide_table(w, h, tokens):
    assert anthropic_pixels(w, h) == tokens


def test_anthropic_large_images_are_scaled_down_first():
    # long edge 3136 -> 1568x784 (1,229,312 px > ~1,600 tokens) -> scaled to 1.2 Mpx: about 1,600 tokens
    assert 1595 <= anthropic_pixels(3136, 1568) <= 1600
    assert anthropic_pixels(8000, 8000) == anthropic_pixels(1095, 1095) == 1599


# --- sizes from the bytes ---


def test_sizes_from_real_headers():
    assert image_size(b64(png(37, 21))) == ("PNG", 37, 21)
    assert image_size(b64(jpeg(640, 480))) == ("JPEG", 640, 480)
    # the frame header past a 60 KB APP1 segment: found by skipping, not decoding, the segment
    assert image_size(b64(jpeg(3000, 2000, app_bytes=60_000))) == ("JPEG", 3000, 2000)
    assert image_size(b64(b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 20)) == ("GIF", 300, 200)
    vp8x = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8X" + struct.pack("<I", 10) + b"\x00" * 4
    vp8x += (1919).to_bytes(3, "little") + (1079).to_bytes(3, "little")
    assert image_size(b64(vp8x)) == ("WebP", 1920, 1080)
    bits = (99 - 1) | ((51 - 1) << 14)
    vp8l = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8L" + struct.pack("<I", 10) + b"\x2f" + bits.to_bytes(4, "little")
    assert image_size(b64(vp8l + b"\x00" * 8)) == ("WebP", 99, 51)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b64(b"hello, not an image at all"), "not a PNG, JPEG, GIF or WebP image"),
        (b64(png(10, 10)[:20]), "a truncated PNG"),
        (b64(jpeg(10, 10)[:30]), "a truncated or damaged JPEG"),
        (b64(b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 10), "no frame header before its image data"),
        ("!!!!not base64!!!!", "not valid base64"),
        (b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + b"\x00" * 8), "a size of 0x0"),
    ],
)
def test_hostile_data_is_unreadable_with_the_reason(data, reason):
    with pytest.raises(ImageUnreadable, match=reason):
        image_size(data)


def test_huge_data_url_is_not_read(monkeypatch):
    import tokcli.budget.images as images

    monkeypatch.setattr(images, "MAX_DATA_CHARS", 1000)
    with pytest.raises(ImageUnreadable, match="over 0 MiB of base64, not read"):
        image_size(b64(png(40, 40)) + "A" * 1000)


# --- through the CLI ---


@pytest.mark.parametrize(
    ("model", "encoding", "api_count"), [("gpt-4o", "o200k_base", 101), ("gpt-4", "cl100k_base", 105)]
)
def test_tools_match_the_cookbooks_api_counts(cli, tmp_path, monkeypatch, model, encoding, api_count):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    p = write(tmp_path, {"messages": COOKBOOK_MESSAGES, "tools": COOKBOOK_TOOLS})
    r = cli("count", "--chat", "-m", model, "-f", "json", p)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    conv = doc["conversations"][0]
    assert conv["tokens"] == {encoding: api_count}
    assert conv["estimate"] == {encoding: True}
    tools = doc["overhead"][encoding]["tools"]
    assert tools["exact"] is False and "num_tokens_for_tools" in tools["source"]
    assert tools["func_init"] == (7 if encoding == "o200k_base" else 10)
    # the same tools given as the older `functions`, and in Anthropic's form, count the same
    fns = [t["function"] for t in COOKBOOK_TOOLS]
    anth = [{"name": f["name"], "description": f["description"], "input_schema": f["parameters"]} for f in fns]
    for doc2 in ({"messages": COOKBOOK_MESSAGES, "functions": fns}, {"messages": COOKBOOK_MESSAGES, "tools": anth}):
        r2 = cli("count", "--chat", "-m", model, write(tmp_path, doc2, "d.json"))
        assert r2.out.splitlines()[1].split("\t") == [str(tmp_path / "d.json"), "2", f"~{api_count}"]


def test_tool_calls_and_results_are_counted_as_estimates(cli, tmp_path, o200k_cache):
    import tiktoken

    e = tiktoken.get_encoding("o200k_base")
    doc = {"messages": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"x": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]}  # fmt: skip
    r = cli("count", "--chat", "-t", "o200k_base", "-f", "json", write(tmp_path, doc))
    assert r.code == 0, r.err
    msgs = json.loads(r.out)["conversations"][0]["messages"]
    n = lambda s: len(e.encode(s))  # noqa: E731
    assert msgs[0]["tokens"]["o200k_base"] == 3 + n("assistant") + n("call_1") + n("look") + n('{"x": 1}') + 3
    assert msgs[1]["tokens"]["o200k_base"] == 3 + n("tool") + n("sunny") + n("call_1")
    assert msgs[2]["tokens"]["o200k_base"] == 3 + n("assistant") + n("toolu_1") + n("look") + n('{"x": 1}') + 3
    assert msgs[3]["tokens"]["o200k_base"] == 3 + n("user") + n("sunny") + n("toolu_1")
    assert msgs[0]["parts"] == [{"label": "tool_calls[0]", "tokens": {"o200k_base": msgs[0]["tokens"]["o200k_base"]
                                 - 3 - n("assistant")}, "exact": {"o200k_base": False}, "not_counted": {}}]  # fmt: skip
    assert all(m["not_counted"] == [] for m in msgs)
    assert "published estimates" in r.err


def test_images_from_data_urls_and_given_sizes(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    doc = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": data_url(png(1024, 1024)), "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/x.png", "detail": "high"}, "width": 2048,
         "height": 4096},
        {"type": "image_url", "image_url": {"url": data_url(jpeg(50, 50), "image/jpeg"), "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/y.png"}},
        {"type": "image_url", "image_url": {"url": data_url(b"not an image"), "detail": "high"}},
    ]}]}  # fmt: skip
    p = write(tmp_path, doc)
    r = cli("count", "--chat", "-m", "gpt-4o", "-f", "json", p)
    assert r.code == 0, r.err
    d = json.loads(r.out)
    (m,) = d["conversations"][0]["messages"]
    parts = {pc["label"]: pc for pc in m["parts"]}
    assert parts["content[1]: image_url"]["tokens"] == {"o200k_base": 765}
    assert parts["content[1]: image_url"]["exact"] == {"o200k_base": True}
    assert parts["content[2]: image_url"]["tokens"] == {"o200k_base": 1105}
    assert parts["content[3]: image_url"]["tokens"] == {"o200k_base": 85}
    assert m["not_counted"] == [
        "content[4]: image_url: an image at an http(s) URL: tokcli never fetches images; give its width and height in the part",
        "content[5]: image_url: not a PNG, JPEG, GIF or WebP image",
    ]
    assert "2 parts sent to the model not counted" in r.err
    assert d["overhead"]["o200k_base"]["images"]["formula"] == "openai-tiles"
    assert "images-vision" in d["overhead"]["o200k_base"]["images"]["source"]
    # a bare encoding names no model: images are listed, not guessed
    r2 = cli("count", "--chat", "-t", "o200k_base", "-f", "json", p)
    m2 = json.loads(r2.out)["conversations"][0]["messages"][0]
    assert (
        m2["not_counted"][0]
        == "content[1]: image_url: images cost differs by model: give -m MODEL (gpt-4o family or Claude)"
    )


def test_anthropic_request_with_system_and_base64_image(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    doc = {"model": "claude-sonnet-4-5", "system": "Be brief.", "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(png(1092, 1092))}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/z.png"}},
        {"type": "text", "text": "What is this?"},
    ]}]}  # fmt: skip
    r = cli("count", "--chat", "-m", "claude-sonnet-4-5", "-f", "json", write(tmp_path, doc))
    assert r.code == 0, r.err
    d = json.loads(r.out)
    tok = d["tokenizers"][0]
    conv = d["conversations"][0]
    assert [m["role"] for m in conv["messages"]] == ["system", "user"]
    img = conv["messages"][1]["parts"][0]
    assert img["tokens"] == {tok: 1590} and img["exact"] == {tok: False}
    assert d["overhead"][tok]["images"]["formula"] == "anthropic-pixels"
    assert "tokcli never fetches images" in conv["messages"][1]["not_counted"][0]


@pytest.mark.parametrize("bad", [{"width": -5, "height": 10}, {"width": "10", "height": 10}, {"width": 10}])
def test_bad_given_sizes_are_an_error(cli, tmp_path, bad):
    doc = {
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}, **bad}]}
        ]
    }
    p = write(tmp_path, doc)
    r = cli("count", "--chat", "-t", "o200k_base", p)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"error: {p}: message 1: content[0]: an image part's ")


def test_two_models_on_one_tokenizer_keep_their_own_image_formulas(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    doc = {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}, "width": 1092,
         "height": 1092}]}]}  # fmt: skip
    r = cli("count", "--chat", "-m", "gpt-4o", "-m", "claude-sonnet-4-5", "-f", "json", write(tmp_path, doc))
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["tokenizers"] == ["o200k_base", "claude-sonnet-4-5"]  # both count with o200k_base, by their own rules
    (part,) = d["conversations"][0]["messages"][0]["parts"]
    assert part["tokens"] == {"o200k_base": 765, "claude-sonnet-4-5": 1590}
    fits = {f["model"]: f["tokens"] for f in d["models"]}
    assert fits == {
        "gpt-4o": d["conversations"][0]["tokens"]["o200k_base"],
        "claude-sonnet-4-5": d["conversations"][0]["tokens"]["claude-sonnet-4-5"],
    }
