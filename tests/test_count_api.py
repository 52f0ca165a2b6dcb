"""count --api / --api-auto: each vendor's official SDK pointed at a local HTTP server (127.0.0.1, a free
port) that answers in the documented request/response shapes; the request the server received (path,
model, messages) and the count printed are checked. No test touches the network."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec

import pytest


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # google.genai without google
        return False


# the [api] extra: installed by the dev extra, so CI runs these. Looked for, not imported: the three SDKs
# weigh ~90 MB, which every test worker would carry from collection on
pytestmark = pytest.mark.skipif(
    not all(map(_installed, ("anthropic", "openai", "google.genai"))),
    reason='needs the [api] extra: pip install "tokcli[api]"',
)

KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


class Vendor:
    """A fake of the three endpoints: records each request, answers with `status` and a count."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.status = 200
        self.tokens = 1234
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                vendor.requests.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
                if vendor.status != 200:
                    answer = {
                        "type": "error",
                        "error": {
                            "type": "rate_limit_error",
                            "message": "slow down",
                            "code": vendor.status,
                            "status": "RESOURCE_EXHAUSTED",
                        },
                    }
                elif "count_tokens" in self.path:
                    answer = {"input_tokens": vendor.tokens}  # Anthropic
                elif "input_tokens" in self.path:
                    answer = {"object": "response.input_tokens", "input_tokens": vendor.tokens}  # OpenAI
                else:
                    answer = {"totalTokens": vendor.tokens}  # Gemini
                data = json.dumps(answer).encode()
                self.send_response(vendor.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-should-retry", "false")  # the SDKs' own retries are not what is tested
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def vendor(monkeypatch, tmp_path):
    v = Vendor()
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    for k in KEYS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", v.url)
    monkeypatch.setenv("OPENAI_BASE_URL", v.url + "/v1")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", v.url)
    yield v
    v.server.shutdown()
    v.server.server_close()


def test_anthropic_counts_a_file(cli, tmp_path, vendor, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    p = tmp_path / "prompt.txt"
    p.write_text("吾輩は猫である。", encoding="utf-8")
    r = cli("count", "--api", "-m", "claude-sonnet-4-5", str(p))
    assert (r.code, r.out, r.err) == (0, "1234\n", "")
    ((path, body, headers),) = vendor.requests
    assert path == "/v1/messages/count_tokens"
    assert body == {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "吾輩は猫である。"}]}
    assert headers["authorization"] == "Bearer sk-ant-test"  # anthropic 2.17 sends the key so


def test_anthropic_counts_a_conversation_with_system_and_tools(cli, tmp_path, vendor, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    doc = {
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "look", "description": "Look.", "input_schema": {"type": "object", "properties": {}}}],
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    vendor.tokens = 77
    r = cli("count", "--api", "--chat", "-m", "claude-sonnet-4-5", "-f", "json", str(p))
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"schema": "tokcli-count-api/1", "counts": [
        {"input": str(p), "model": "claude-sonnet-4-5", "tokens": 77, "exact": True, "counted_by": "api"}]}  # fmt: skip
    ((_, body, _),) = vendor.requests
    assert body == {"model": "claude-sonnet-4-5", **doc}


def test_openai_counts_through_responses_input_tokens(cli, tmp_path, vendor, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    vendor.tokens = 9
    r = cli("count", "--api", "-m", "gpt-4o", input="hello")
    assert (r.code, r.out) == (0, "9\n"), r.err
    ((path, body, headers),) = vendor.requests
    assert path == "/v1/responses/input_tokens"
    assert body == {"model": "gpt-4o", "input": [{"role": "user", "content": "hello"}]}
    assert headers["authorization"] == "Bearer sk-test"


def test_gemini_counts_through_count_tokens(cli, tmp_path, vendor, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "g-test")
    vendor.tokens = 5
    doc = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    r = cli("count", "--api", "--chat", "-m", "gemini-2.5-pro", str(p))
    assert (r.code, r.out) == (0, "5\n"), r.err
    ((path, body, headers),) = vendor.requests
    assert path.endswith("/models/gemini-2.5-pro:countTokens")
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
    ]
    assert headers["x-goog-api-key"] == "g-test"


def test_missing_key_is_one_error_line(cli, tmp_path, vendor):
    r = cli("count", "--api", "-m", "claude-sonnet-4-5", input="hi")
    assert (r.code, r.out) == (2, "")
    assert r.err == "error: --api: no Anthropic API key: set ANTHROPIC_API_KEY (or count locally without --api)\n"
    assert vendor.requests == []


def test_rate_limit_is_an_error_and_auto_falls_back(cli, tmp_path, vendor, monkeypatch, o200k_cache):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    vendor.status = 429
    r = cli("count", "--api", "-m", "claude-sonnet-4-5", input="hello world")
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(
        "error: --api: Anthropic messages/count_tokens for claude-sonnet-4-5: rate limited (HTTP 429)"
    )
    assert len(r.err.splitlines()) == 1
    a = cli("count", "--api-auto", "-m", "claude-sonnet-4-5", "-f", "json", input="hello world")
    assert a.code == 0, a.err
    (row,) = json.loads(a.out)["counts"]
    assert row == {"input": "<stdin>", "model": "claude-sonnet-4-5", "tokens": 2, "exact": False,
                   "counted_by": "o200k_base"}  # fmt: skip
    assert a.err.startswith("warning: --api: Anthropic messages/count_tokens for claude-sonnet-4-5: rate limited")
    assert "counted locally with o200k_base instead (an estimate, ~)" in a.err


def test_network_failure_is_one_error_line(cli, tmp_path, vendor, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    vendor.server.shutdown()
    vendor.server.server_close()
    r = cli("count", "--api", "-m", "gpt-4o", input="hi")
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith("error: --api: OpenAI responses/input_tokens for gpt-4o: no answer (")
    assert r.err.endswith("check the network\n") and len(r.err.splitlines()) == 1


def test_refusals(cli, vendor):
    assert cli("count", "--api", input="hi").err == (
        "error: --api asks the model's vendor to count: give -m MODEL (e.g. -m claude-sonnet-4-5)\n")  # fmt: skip
    r = cli("count", "--api", "-m", "deepseek-chat", input="hi")
    assert (
        r.code == 2 and "tokcli knows the token-counting endpoints of Anthropic, Gemini and OpenAI models only" in r.err
    )
    r = cli("count", "--api", "-m", "gpt-4o", "-t", "bpe", input="hi")
    assert r.err == "error: --tokenizer does not go with --api: the vendor counts for the -m model\n"


def test_missing_sdk_names_the_pip_command(cli, vendor, monkeypatch):
    import sys

    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setitem(sys.modules, "anthropic", None)  # import anthropic raises ImportError
    r = cli("count", "--api", "-m", "claude-sonnet-4-5", input="hi")
    assert (r.code, r.err) == (2, 'error: --api needs the Anthropic SDK (anthropic): pip install "tokcli[api]"\n')


def test_help_imports_no_sdk():
    import subprocess
    import sys

    code = ("import sys; from tokcli.cli import main\ntry: main(['count', '--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('anthropic', 'openai', 'google.genai') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--api" in out and out.strip().endswith("[]")
