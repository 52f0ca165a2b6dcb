"""The benchmark scripts keep working: quick mode runs and reports every target (no timed assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / "benchmarks" / "run.py").is_file(), reason="benchmarks/ is not in this tree")
def test_quick_mode_reports_every_target(tmp_path) -> None:
    p = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    for target in "123456":
        assert f"[{target}] " in p.stdout, f"target {target} not reported:\n{p.stdout}"
    assert "ids identical: True" in p.stdout  # target 2 checks ids, not only speed
    assert "done in" in p.stdout


def _run_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = mod  # dataclasses look their module up while building the classes
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not (ROOT / "benchmarks" / "run.py").is_file(), reason="benchmarks/ is not in this tree")
def test_ceiling_table_reads_every_goal_form_and_the_report_renders_from_json(tmp_path) -> None:
    run = _run_module()
    rep = run.Report("full")
    small = "count a tree of 3 small files, whole process"
    rep.add(run.Row("1", "count x, whole process", "1 s", "5 s", 5.0, ">= 6", False))
    rep.add(run.Row("1", "ceiling for x", "0.9 s", "5 s", 5.5, "report", None, "", "count x, whole process"))
    rep.add(run.Row("1", small, "1 s", "7 s", 7.0, ">= 6, same total", True))
    rep.add(run.Row("1", "ceiling for the tree", "0.8 s", "7 s", 8.75, "report", None, "", small))
    rep.add(run.Row("1", "count y, whole process", "1 s", "5 s", 5.0, ">= 6", False))
    rep.add(run.Row("1", "ceiling for y", "0.7 s", "5 s", 7.1, "report", None, "", "count y, whole process"))
    table = run.ceiling_table(rep)
    assert "| count x, whole process | 5.00 | 5.50 | 91% | >= 6 | missed: the goal (6x) is above this engine's" in (
        "\n".join(table)
    )
    assert f"| {small} | 7.00 | 8.75 | 80% | >= 6, same total | met |" in table
    assert "| count y, whole process | 5.00 | 7.10 | 70% | >= 6 | missed: below the ceiling" in "\n".join(table)
    raw = tmp_path / "RESULTS.json"
    import dataclasses
    import json

    raw.write_text(json.dumps({"started": "then", "seconds": 1.0, "report": dataclasses.asdict(rep)}), "utf-8")
    out = tmp_path / "RESULTS.md"
    assert run.main(["--render", str(raw), "--results", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## Targets against their ceilings" in text
    assert f"| 1 | {small} | 1 s | 7 s | 7.00 | >= 6, same total | **pass** |" in text
