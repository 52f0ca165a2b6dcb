"""count --chat and check --chat: conversations counted as OpenAI's cookbook counts them (its function is
written out below and run with tiktoken directly), names, list-of-parts content, parts not counted
reported, Japanese, malformed files naming the line, families without a documented overhead."""

from __future__ import annotations

import json

import pytest

JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"

CONVERSATION = {
    "messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "user", "name": "太郎", "content": JA},
        {"role": "assistant", "content": "猫ですね。"},
    ]
}  # fmt: skip


def cookbook_num_tokens_from_messages(messages, encoding, tokens_per_message=3, tokens_per_name=1):
    """OpenAI Cookbook, "How to count tokens with tiktoken", num_tokens_from_messages (the gpt-4o branch)."""
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3  # every reply is primed with <|start|>assistant<|message|>
    return num_tokens


@pytest.fixture
def enc(o200k_cache):
    import tiktoken

    return {name: tiktoken.get_encoding(name) for name in ("o200k_base", "cl100k_base")}


def write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_count_matches_the_cookbook(cli, tmp_path, enc, encoding):
    p = write(tmp_path, "c.json", CONVERSATION)
    r = cli("count", "--chat", "-t", encoding, p)
    assert r.code == 0, r.err
    assert int(r.out) == cookbook_num_tokens_from_messages(CONVERSATION["messages"], enc[encoding])
    assert r.err == ""


def test_per_message_rows_in_json(cli, tmp_path, enc):
    p = write(tmp_path, "c.json", CONVERSATION)
    r = cli("count", "--chat", "-t", "o200k_base", "-f", "json", p)
    doc = json.loads(r.out)
    assert doc["schema"] == "tokcli-chat/1"
    conv = doc["conversations"][0]
    e = enc["o200k_base"]
    for i, (m, row) in enumerate(zip(CONVERSATION["messages"], conv["messages"], strict=True), 1):
        expected = cookbook_num_tokens_from_messages([m], e) - 3  # one message, without the reply priming
        assert row == {"index": i, "role": m["role"], "name": m.get("name"), "tokens": {"o200k_base": expected},
                       "not_counted": [], "parts": []}  # fmt: skip
    assert conv["tokens"]["o200k_base"] == sum(m["tokens"]["o200k_base"] for m in conv["messages"]) + 3
    oh = doc["overhead"]["o200k_base"]
    assert (oh["per_message"], oh["per_name"], oh["reply"], oh["lower_bound"]) == (3, 1, 3, False)
    assert "How to count tokens with tiktoken" in oh["source"]


def test_list_of_parts_counts_text_and_reports_the_rest(cli, tmp_path, enc):
    doc = {"messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "text", "text": JA},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}]},
    ]}  # fmt: skip
    p = write(tmp_path, "parts.json", doc)
    r = cli("count", "--chat", "-t", "o200k_base", "-f", "json", p)
    assert r.code == 0
    e = enc["o200k_base"]
    msgs = json.loads(r.out)["conversations"][0]["messages"]
    assert msgs[0]["tokens"]["o200k_base"] == 3 + len(e.encode("user")) + len(
        e.encode("What is in this picture?")
    ) + len(e.encode(JA))
    assert msgs[0]["not_counted"] == [
        "content[3]: input_audio: no documented formula",
        "content[1]: image_url: images cost differs by model: give -m MODEL (gpt-4o family or Claude)",
    ]
    call = 3 + sum(len(e.encode(s)) for s in ("call_1", "look", "{}"))  # the tool call: an estimate
    assert msgs[1]["tokens"]["o200k_base"] == 3 + len(e.encode("assistant")) + call
    assert msgs[1]["not_counted"] == []
    assert "warning: 2 parts sent to the model not counted" in r.err
    assert "message 1: content[1]: image_url: images cost differs by model" in r.err


def test_jsonl_one_conversation_a_line_and_totals(cli, tmp_path, enc):
    convs = [
        CONVERSATION,
        {"messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "user", "content": JA}]},
    ]
    p = tmp_path / "chats.jsonl"
    p.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs), encoding="utf-8")
    r = cli("count", "--chat", "-t", "cl100k_base", "-f", "json", str(p))
    doc = json.loads(r.out)
    want = [cookbook_num_tokens_from_messages(c["messages"], enc["cl100k_base"]) for c in convs]
    assert [c["tokens"]["cl100k_base"] for c in doc["conversations"]] == want
    assert [c["input"] for c in doc["conversations"]] == [f"{p}:1", f"{p}:2", f"{p}:3"]
    assert doc["total"] == {"cl100k_base": sum(want)}
    t = cli("count", "--chat", "-t", "cl100k_base", str(p))
    assert t.out.splitlines()[-1].split("\t") == ["total", "7", str(sum(want))]


def test_model_picks_tokenizer_and_overhead_and_fits(cli, tmp_path, enc, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    p = write(tmp_path, "c.json", CONVERSATION)
    r = cli("count", "--chat", "-m", "gpt-4o", "-f", "json", p)
    doc = json.loads(r.out)
    n = cookbook_num_tokens_from_messages(CONVERSATION["messages"], enc["o200k_base"])
    assert doc["tokenizers"] == ["o200k_base"] and doc["total"] == {"o200k_base": n}
    (f,) = doc["models"]
    assert (f["conversation"], f["model"], f["tokens"], f["fits"]) == (p, "gpt-4o", n, True)
    over = cli("count", "--chat", "-m", "gpt-4o", "--reserve", str(f["limit"] - n + 1), p)
    assert f"gpt-4o: 1 of 1 conversation over its input budget of {n - 1:,} tokens" in over.out


def test_unknown_family_is_a_marked_lower_bound(cli, tmp_path):
    from tokcli import load

    p = write(tmp_path, "c.json", CONVERSATION)
    r = cli("count", "--chat", "-t", "bpe", "-f", "json", p)
    doc = json.loads(r.out)
    assert doc["overhead"]["bpe"]["lower_bound"] is True and doc["overhead"]["bpe"]["per_message"] is None
    tok = load("bpe")
    content_only = sum(tok.count(v) for m in CONVERSATION["messages"] for v in m.values())
    assert doc["total"] == {"bpe": content_only}
    assert "bpe: no documented chat overhead" in r.err
    t = cli("count", "--chat", "-t", "bpe", "-t", "char", p)
    assert t.out.splitlines()[1].split("\t")[2:] == [
        f">={content_only}",
        f">={sum(load('char').count(v) for m in CONVERSATION['messages'] for v in m.values())}",
    ]


def test_malformed_jsonl_names_the_line(cli, tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": [{"role": "user",]}\n')
    r = cli("count", "--chat", "-t", "bpe", str(p))
    assert r.code == 2 and r.out == ""
    assert (
        r.err
        == f"error: {p}:2: not JSON (Expecting property name enclosed in double quotes at column 31); fix or remove the line\n"
    )


def test_malformed_json_document_names_the_line(cli, tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"messages": [\n  {"role": "user", "content": "hi"}\n  {"role": "user"}\n]}\n')
    r = cli("count", "--chat", "-t", "bpe", str(p))
    assert (r.code, r.err) == (2, f"error: {p}:3: not JSON (Expecting ',' delimiter at column 3)\n")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"prompt": "hi"}, 'not a chat conversation: expected {"messages": [...]}, found an object'),
        ({"messages": [{"content": "hi"}]}, "message 1: has no role"),
        ({"messages": [{"role": "user", "content": 3}]}, "message 1: content must be a string, a list of parts or null, not a number"),
        ({"messages": [{"role": "user", "content": "x", "name": 7}]}, "message 1: name must be a string, not a number"),
        ({"messages": ["hi"]}, "message 1: is a string, not a message object with role and content"),
    ],
)  # fmt: skip
def test_not_a_conversation(cli, tmp_path, doc, message):
    p = write(tmp_path, "c.json", doc)
    r = cli("count", "--chat", "-t", "bpe", p)
    assert (r.code, r.err) == (2, f"error: {p}: {message}\n")


def test_chat_from_stdin_and_a_bare_message_list(cli, enc):
    msgs = CONVERSATION["messages"]
    r = cli("count", "--chat", "-t", "o200k_base", input=json.dumps(msgs))
    assert int(r.out) == cookbook_num_tokens_from_messages(msgs, enc["o200k_base"])


def test_large_json_document_refused_before_reading_it_whole(cli, tmp_path, monkeypatch):
    p = write(tmp_path, "c.json", CONVERSATION)
    monkeypatch.setenv("TOKCLI_MAX_LINE_BYTES", "100")
    r = cli("count", "--chat", "-t", "bpe", p)
    assert r.code == 2 and "a JSON document larger than 100 bytes; give such files as JSONL" in r.err


def test_check_chat_per_conversation(cli, tmp_path, enc, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    small = {"messages": [{"role": "user", "content": "hi"}]}
    p = tmp_path / "chats.jsonl"
    p.write_text(json.dumps(CONVERSATION, ensure_ascii=False) + "\n" + json.dumps(small) + "\n", encoding="utf-8")
    big = cookbook_num_tokens_from_messages(CONVERSATION["messages"], enc["o200k_base"])
    little = cookbook_num_tokens_from_messages(small["messages"], enc["o200k_base"])
    r = cli("check", "--chat", "-n", str(big - 1), "-t", "o200k_base", "-f", "json", "chats.jsonl")
    assert r.code == 1
    files = json.loads(r.out)["budgets"][0]["files"]
    assert [(f["path"], f["tokens"], f["status"]) for f in files] == [
        ("chats.jsonl:1", big, "over"), ("chats.jsonl:2", little, "ok")]  # fmt: skip
    g = cli("check", "--chat", "-n", str(big - 1), "-t", "o200k_base", "-f", "github", "chats.jsonl")
    assert g.out.startswith("::error file=chats.jsonl,line=1,title=token budget::")
    ok = cli("check", "--chat", "-n", str(big), "-t", "o200k_base", "chats.jsonl")
    assert ok.code == 0


def test_check_chat_from_pyproject(cli, tmp_path, enc, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "conv.json", CONVERSATION)
    n = cookbook_num_tokens_from_messages(CONVERSATION["messages"], enc["o200k_base"])
    (tmp_path / "pyproject.toml").write_text(
        f'[[tool.tokcli.budget]]\npaths = ["*.json"]\nmax-tokens = {n - 1}\ntokenizer = "o200k_base"\nchat = true\n'
    )
    r = cli("check", "-f", "json")
    assert r.code == 1
    b = json.loads(r.out)["budgets"][0]
    assert b["budget"]["chat"] is True and b["files"] == [
        {"path": "conv.json", "tokens": n, "limit": n - 1, "status": "over"}
    ]
    assert cli("check", "--chat").code == 2
