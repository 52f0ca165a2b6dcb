"""Plain option values are coerced without pydantic, and anything else still gets Typer's own answer."""

from __future__ import annotations

import enum
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from tokcli.cli import fastparams


def test_a_plain_count_never_imports_pydantic(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("吾輩は猫である。 hello\n", encoding="utf-8")
    code = (
        "import sys; from tokcli.cli import run;"
        f"rc = run(['count', '-t', 'char', '--reserve', '5', '--format', 'json', {str(f)!r}]);"
        "print('pydantic' in sys.modules); sys.exit(rc)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("False"), r.stdout


class Color(str, enum.Enum):
    red = "red"
    blue = "blue"


def _app():
    fastparams.install()
    app = typer.Typer()

    @app.command()
    def main(
        names: list[str] = typer.Argument(None),
        n: int = 3,
        x: float = 0.5,
        color: Color = Color.red,
        tags: list[int] = typer.Option([], "--tag"),
        flag: bool = False,
    ) -> None:
        print(repr((names, n, x, color, tags, flag)))

    return app


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ([], (None, 3, 0.5, Color.red, [], False)),
        (
            ["a", "日本", "--n", "-12", "--x", "2", "--color", "blue", "--tag", "7", "--tag", "8", "--flag"],
            (["a", "日本"], -12, 2.0, Color.blue, [7, 8], True),
        ),  # fmt: skip
        (["--x", "1.25"], (None, 3, 1.25, Color.red, [], False)),
        (["--x", "1e-3"], (None, 3, 0.001, Color.red, [], False)),  # not plain: pydantic parses it
        (["--n", "+4"], (None, 4, 0.5, Color.red, [], False)),
    ],
)
def test_values_are_coerced_as_typer_would(args, want):
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == repr(want)


@pytest.mark.parametrize(("args", "message"), [(["--n", "abc"], "valid integer"), (["--color", "green"], "'green' is not one of"),
                                               (["--x", "one"], "valid number"), (["--tag", "1", "--tag", "z"], "valid integer")])  # fmt: skip
def test_bad_values_get_typers_own_errors(args, message):
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 2
    assert message in r.output
