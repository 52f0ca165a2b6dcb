"""Hostile input, round 2, second half (issue 25): closed standard streams, config bombs, a killed Dask
worker, hostile git repositories. Each case ends in one `error:` line and exit 2 (or works), never exit 3,
a hang or unbounded memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TOKCLI_OFFLINE": "1", "NO_COLOR": "1"}


def _tokcli(args: list[str], *, close: tuple[int, ...], cwd=None, timeout: float = 90) -> subprocess.CompletedProcess:
    """`tokcli ARGS` as a real process started with the descriptors in `close` closed (`>&-`, `2>&-`)."""

    def closing() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run([sys.executable, "-m", "tokcli", *args], stdin=subprocess.DEVNULL,
                          stdout=None if 1 in close else subprocess.PIPE,
                          stderr=None if 2 in close else subprocess.PIPE,
                          preexec_fn=closing, env=ENV, cwd=cwd, timeout=timeout, text=True)  # fmt: skip


@pytest.fixture
def small(tmp_path):
    (tmp_path / "a.txt").write_text("hello world\n")
    (tmp_path / "c.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    (tmp_path / "d.jsonl").write_text('{"text": "hi there"}\n')
    return tmp_path


# every command that writes data on stdout, with tiny inputs and the bundled char tokenizer/model
WRITERS = {
    "count": ["count", "-t", "char", "a.txt"],
    "encode": ["encode", "-t", "char", "a.txt"],
    "show": ["show", "-t", "char", "a.txt"],
    "why": ["why", "-t", "char", "a.txt"],
    "compare": ["compare", "-t", "char", "-t", "word", "a.txt"],
    "models": ["models"],
    "chunk": ["chunk", "-t", "char", "-n", "4", "a.txt"],
    "truncate": ["truncate", "-t", "char", "-n", "4", "a.txt"],
    "generate": ["generate", "-m", "char", "-n", "3", "--seed", "1", "hi"],
    "next": ["next", "-m", "char", "hi"],
    "score": ["score", "-m", "char", "-c", "x", "hi"],
    "attention": ["attention", "-m", "char", "hi"],
    "check": ["check", "-t", "char", "-n", "100", "a.txt"],
    "chat": ["count", "-t", "char", "--chat", "c.jsonl"],
    "field": ["count", "-t", "char", "--field", "text", "d.jsonl"],
    "help": ["--help"],
    "command-help": ["count", "--help"],
    "version": ["--version"],
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_closed_stdout_is_one_error_line_and_exit_2(small, name):
    r = _tokcli(WRITERS[name], close=(1,), cwd=small)
    lines = r.stderr.splitlines()
    assert r.returncode == 2, r.stderr
    assert [ln for ln in lines if ln.startswith("error:")] == [lines[-1]]
    assert lines[-1].startswith("error: cannot write to stdout: it is closed;"), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr and "Exception ignored" not in r.stderr


def test_closed_stdout_does_not_fail_a_command_that_writes_a_file(small):
    # nothing goes to stdout: the run succeeds, and the file it writes does not take descriptor 1
    r = _tokcli(["show", "-t", "char", "--html", "page.html", "a.txt"], close=(1,), cwd=small)
    assert r.returncode == 0, r.stderr
    assert (small / "page.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "code"), [(["count", "-t", "char", "a.txt"], 0),
                                            (["count", "-t", "char", "missing.txt"], 2),
                                            (["check", "-t", "char", "-n", "3", "a.txt"], 1),
                                            (["count", "--no-such-option"], 2)])  # fmt: skip
def test_closed_stderr_keeps_the_exit_code(small, args, code):
    r = _tokcli(args, close=(2,), cwd=small)
    assert r.returncode == code
    if code == 0:
        assert r.stdout == "12\n"


def test_both_closed_is_exit_2(small):
    r = _tokcli(["count", "-t", "char", "a.txt"], close=(1, 2), cwd=small)
    assert r.returncode == 2


# --- pyproject.toml and config.toml bombs (check, models) ---------------------------------------------------

BUDGET = '[[tool.tokcli.budget]]\npaths = ["a.txt"]\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "a.txt").write_text("hello world\n")
    return tmp_path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BUDGET + "max-tokens = " + "9" * 5000 + "\n", "an integer of thousands of digits; fix the file"),
        (
            BUDGET + "max-tokens = " + "9" * 4000 + "\n",
            "tool.tokcli.budget[1].max-tokens must be at most 1,000,000,000,000",
        ),
        (BUDGET + "max-tokens = 10\nreserve = 1" + "0" * 30 + "\n", "tool.tokcli.budget[1].reserve must be at most"),
        (BUDGET + "max-tokens = 10\nx = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("[tool.other]\nx = " + "{a = " * 5000 + "}" * 5000 + "\n" + BUDGET + "max-tokens = 10\n", "nested too deeply"),
        (
            "[tool.tokcli]\n" + "budget = [" + ", ".join(['{paths = "a.txt", max-tokens = 9}'] * 1001) + "]\n",
            "tool.tokcli.budget: 1,001 entries; at most 1,000 are read",
        ),
    ],
    ids=["5000-digits", "4000-digits", "huge-reserve", "nested-arrays", "nested-inline-tables", "many-budgets"],
)
def test_pyproject_bombs_are_one_error_line(cli, project, body, message):
    (project / "pyproject.toml").write_text(body)
    r = cli("check", "-t", "char")
    assert r.code == 2, r.err
    assert r.err.startswith(f"error: {project / 'pyproject.toml'}: ") and message in r.err
    assert r.err.count("\n") == 1 and len(r.err) < 400


def test_a_huge_value_is_quoted_short_in_the_message(cli, project):
    (project / "pyproject.toml").write_text(BUDGET + 'max-tokens = 10\ntotal = "' + "x" * 500_000 + '"\n')
    r = cli("check", "-t", "char")
    assert r.code == 2
    assert "tool.tokcli.budget[1].total must be true or false, not a string ('xxxx" in r.err and len(r.err) < 400


def test_user_config_bombs_are_one_error_line(cli, project, monkeypatch):
    cfg = project / "config.toml"
    monkeypatch.setenv("TOKCLI_CONFIG", str(cfg))
    cfg.write_text("[models.mine]\ncontext = " + "[" * 3000 + "]" * 3000 + "\n")
    r = cli("models")
    assert r.code == 2 and r.err == f"error: {cfg}: arrays or tables nested too deeply (hundreds of levels) to read\n"
    cfg.write_text("[models.mine]\ncontext = " + "1" * 6000 + "\n")
    r = cli("models")
    assert r.code == 2 and r.err == f"error: {cfg}: an integer of thousands of digits; fix the file or remove it\n"


# --- Dask workers killed mid-run ---------------------------------------------------------------------------

THREE = ["o200k_base", "cl100k_base", "char"]


@pytest.fixture(scope="module")
def cluster2():
    """Two worker processes (one thread each) under nannies, which restart a killed worker."""
    distributed = pytest.importorskip("distributed", reason="needs the [dask] extra")
    from tokcli.workers.runner import local_cluster

    cluster = local_cluster(2)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _two_corpora(tmp_path):
    from conftest import shared_corpus

    d = tmp_path / "in"
    d.mkdir()
    for name in ("en_shakespeare.txt", "ja_aozora_botchan.txt"):
        (d / name).write_bytes(shared_corpus(name).read_bytes()[:400_000])
    return [str(d / "en_shakespeare.txt"), str(d / "ja_aozora_botchan.txt")]


def _rows(rows):
    return [(r.input, r.chars, r.bytes, dict(r.tokens)) for r in rows]


def _count_killing(client, inputs, victims):
    """count() of inputs under three tokenizers on `client`, SIGKILLing the worker processes that `victims`
    picks from {address: pid} at the first finished task, while the others still run or wait."""
    import signal

    from tokcli.workers import count

    pids = client.run(os.getpid)
    killed = []

    def progress(state):
        if not killed:
            for pid in victims(pids):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    rows = count(inputs, THREE, client, task_bytes=16384, progress=progress)
    assert killed
    return rows


@pytest.mark.shared
def test_one_worker_killed_mid_run_three_times_keeps_every_count_exact(tmp_path, cluster2):
    from tokcli import load
    from tokcli.files.text import expand_inputs
    from tokcli.tokenizer.counting import count_inputs

    inputs = _two_corpora(tmp_path)
    expected = _rows(count_inputs([load(n) for n in THREE], expand_inputs(inputs)))
    for _ in range(3):
        # the nanny restarts the worker killed before; on a loaded machine that can take a minute, and
        # a run with one worker up (then killed) is the harder case anyway
        cluster2.wait_for_workers(1, timeout=120)
        assert _rows(_count_killing(cluster2, inputs, lambda pids: [sorted(pids.values())[0]])) == expected


@pytest.mark.shared
def test_every_worker_killed_loses_the_scattered_tokenizers_and_the_run_recovers(tmp_path, cluster2):
    # the tokenizers are scattered to the workers: with all of them dead, Dask cancels every task that
    # needs them (FutureCancelledError, exit 3 before); they are scattered and submitted again
    from tokcli import load
    from tokcli.files.text import expand_inputs
    from tokcli.tokenizer.counting import count_inputs

    inputs = _two_corpora(tmp_path)
    expected = _rows(count_inputs([load(n) for n in THREE], expand_inputs(inputs)))
    cluster2.wait_for_workers(1, timeout=120)
    assert _rows(_count_killing(cluster2, inputs, lambda pids: list(pids.values()))) == expected


def _always_dies(task, **kw):
    os._exit(1)


def test_a_task_that_keeps_killing_its_workers_is_one_clear_error(tmp_path):
    distributed = pytest.importorskip("distributed", reason="needs the [dask] extra")
    import dask

    from tokcli.workers.plan import Piece, Task
    from tokcli.workers.runner import Where, WorkersFailed, local_cluster
    from tokcli.workers.runner import run as run_tasks

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = local_cluster(1)
    client = distributed.Client(cluster)
    try:
        task = Task(0, (Piece(0, "big.txt", 0, 4_000_000, first=True, last=False),))
        with pytest.raises(WorkersFailed) as e:
            run_tasks(_always_dies, [task], Where(client=client), specs=["char"])
        assert str(e.value) == ("task 0: big.txt (bytes 0-4,000,000): the Dask workers running it kept dying (Dask "
                                "gave up after its allowed-failures); give them more memory, or a smaller --task-bytes")  # fmt: skip
        assert e.value.exit_code == 2
    finally:
        client.close()
        cluster.close()


# --- hostile git repositories under diff -------------------------------------------------------------------


def _git_repo(tmp_path, monkeypatch, trees=None, history=0):
    """A repository written with dulwich: main (checked out) has one commit holding a.md, or `trees(store)`'s
    tree; `history` commits more on a side branch `old` that shares no commit with main."""
    pytest.importorskip("dulwich", reason="tokcli diff needs the git extra (dulwich)")
    from dulwich.objects import Blob, Commit, Tree
    from dulwich.repo import Repo

    root = tmp_path / "repo"
    root.mkdir()
    repo = Repo.init(str(root))
    store = repo.object_store
    blob = Blob.from_string(b"hello world\n")
    store.add_object(blob)

    def commit(tree, parents=(), message=b"c"):
        c = Commit()
        c.tree, c.parents, c.message = tree, list(parents), message
        c.author = c.committer = b"t <t@t>"
        c.author_time = c.commit_time = 1_700_000_000 + len(parents)
        c.author_timezone = c.commit_timezone = 0
        store.add_object(c)
        return c.id

    if trees is None:
        t = Tree()
        t.add(b"a.md", 0o100644, blob.id)
        store.add_object(t)
        tree = t.id
    else:
        tree = trees(store, blob)
    repo.refs[b"refs/heads/main"] = commit(tree)
    repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/main")
    if history:
        prev = []
        for i in range(history):
            prev = [commit(tree, prev, b"old %d" % i)]
        repo.refs[b"refs/heads/old"] = prev[0]
    repo.close()
    (root / "a.md").write_text("hello world, again\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    return root


def _diff(cli, *args):
    return cli("diff", "-t", "char", *args)


def test_a_plain_dulwich_repository_diffs(cli, tmp_path, monkeypatch):
    _git_repo(tmp_path, monkeypatch)
    r = _diff(cli, "main", "-f", "json")
    assert r.code == 0, r.err


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "HEAD": "ref: refs/heads/a\n",
                "refs/heads/a": "ref: refs/heads/b\n",
                "refs/heads/b": "ref: refs/heads/a\n",
            },
            "its symbolic refs point at each other in a loop",
        ),
        ({"HEAD": "garbage\n"}, "HEAD: holds b'garbage\\n', neither an object id nor `ref: refs/...`"),
        ({"refs/heads/x": "not a sha\n"}, "refs/heads/x: holds b'not a sha\\n', neither an object id"),
    ],
    ids=["symref-loop", "garbage-head", "garbage-ref"],
)
def test_broken_refs_are_one_error_line(cli, tmp_path, monkeypatch, files, message):
    root = _git_repo(tmp_path, monkeypatch)
    for name, text in files.items():
        (root / ".git" / name).write_text(text)
    r = _diff(cli)
    assert r.code == 2 and r.out == "" and r.err.count("\n") == 1, r.err
    assert r.err.startswith("error: ") and message in r.err


@pytest.mark.parametrize("name", ["config", "packed-refs", "refs/heads/main", "HEAD"])
def test_a_fifo_in_the_repository_is_refused_not_waited_on(tmp_path, monkeypatch, name):
    root = _git_repo(tmp_path, monkeypatch)
    fifo = root / ".git" / name
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    r = _tokcli(["diff", "-t", "char"], close=(), cwd=root, timeout=60)  # a hang fails here
    assert r.returncode == 2
    assert r.stderr == (f"error: {fifo}: not a regular file (a FIFO, a device or a directory); a repository's "
                        f"{'ref' if name.startswith('refs/') else name} must be a file, so tokcli diff does not "
                        "read this repository\n")  # fmt: skip


@pytest.mark.parametrize(("name", "size"), [("packed-refs", (64 << 20) + 1), ("config", (1 << 20) + 1)])
def test_huge_control_files_of_zeros_are_refused_unread(cli, tmp_path, monkeypatch, name, size):
    root = _git_repo(tmp_path, monkeypatch)
    with open(root / ".git" / name, "wb") as f:
        f.truncate(size)  # sparse: zeros that take no disk
    r = _diff(cli)
    assert r.code == 2
    assert r.err == (f"error: {root / '.git' / name}: {size:,} bytes, more than the {size - 1:,} tokcli reads as "
                     f"a repository's {name}; is the repository damaged?\n")  # fmt: skip


def test_a_tree_that_repeats_itself_is_refused_in_moments(cli, tmp_path, monkeypatch):
    from dulwich.objects import Tree

    def bomb(store, blob):
        t = Tree()
        for i in range(16):
            t.add(b"f%d.md" % i, 0o100644, blob.id)
        store.add_object(t)
        for _ in range(6):  # 16^6 directories of 16 files: 268 million paths from 7 trees
            up = Tree()
            for i in range(16):
                up.add(b"d%d" % i, 0o040000, t.id)
            store.add_object(up)
            t = up
        return t.id

    _git_repo(tmp_path, monkeypatch, trees=bomb)
    r = _diff(cli)
    assert r.code == 2
    assert r.err == ("error: reading the tree of the merge base of HEAD and main: more than 1,000,000 git objects; "
                     "give a REF closer to HEAD, or PATHS to compare less\n")  # fmt: skip


def test_a_tree_nested_thousands_deep_is_refused(cli, tmp_path, monkeypatch):
    from dulwich.objects import Tree

    def deep(store, blob):
        t = Tree()
        t.add(b"a.md", 0o100644, blob.id)
        store.add_object(t)
        for _ in range(1100):
            up = Tree()
            up.add(b"d", 0o040000, t.id)
            store.add_object(up)
            t = up
        return t.id

    _git_repo(tmp_path, monkeypatch, trees=deep)
    r = _diff(cli)
    assert r.code == 2 and r.err.count("\n") == 1
    assert (
        r.err.startswith("error: d/d/d/")
        and "directories in the merge base of HEAD and main nested more than 1024 deep" in r.err
    )


def test_a_merge_base_over_a_long_history_stops_at_the_object_limit(cli, tmp_path, monkeypatch):
    import tokcli.budget.gittree as gittree

    _git_repo(tmp_path, monkeypatch, history=300)
    monkeypatch.setattr(gittree, "MAX_OBJECTS", 100)  # the real limit, 1,000,000, in a test's time
    r = _diff(cli, "old...")
    assert r.code == 2
    assert r.err == ("error: reading the history for the merge base: more than 100 git objects; give a REF "
                     "closer to HEAD, or PATHS to compare less\n")  # fmt: skip
