"""benchmarks/bench_compare.py for real (git archive, child processes, both trees) on a tiny book: HEAD against the
working tree, 300 lines x 12 months, one run each, no full sheet. No timing is asserted."""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_compare  # noqa: E402

NUMBER = re.compile(r"\d+\.\d+ ?(s|×)")


def test_compare_head_with_the_working_tree(tmp_path, capsys):
    out = tmp_path / "compare.json"
    t0 = time.perf_counter()
    assert bench_compare.main(["--before", "HEAD", "--sizes", "300", "--months", "12", "--loop-lines", "300",
                               "--runs-small", "1", "--runs-large", "1", "--no-full-sheet", "--out", str(out)]) == 0
    assert time.perf_counter() - t0 < 20
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[0] == "measure" and header[1].startswith("before (HEAD, ") and header[2].startswith("after (")
    body = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    for measure in ("300 × 12 cold", "loop / cold", "headless refresh 300 × 12"):
        assert any(measure in r[0] for r in body), measure
    for r in body:
        assert NUMBER.search(r[1]) and NUMBER.search(r[2]), r
    assert "load average" in printed
    assert re.search(r"^compare: cold_ratio=[\d.]+->[\d.]+ refresh_300=[\d.]+->[\d.]+$", printed.splitlines()[-1])

    result = json.loads(out.read_text(encoding="utf-8"))
    before_tree, after_tree = Path(result["before"]["tree"]), Path(result["after"]["tree"])
    assert before_tree != after_tree and after_tree == bench_compare.ROOT
    assert set(result["measures"]) == {"cold_vs_loop", "refresh_300"}
    for name, m in result["measures"].items():
        for side, tree in (("before", before_tree), ("after", after_tree)):
            assert Path(m[side]["bbb_xl"]).is_relative_to(tree), (name, side, m[side]["bbb_xl"])
            assert m[side]["runs"] and m[side]["functions"]
    cold = result["measures"]["cold_vs_loop"]
    assert all(cold[s]["cold_s"] > 0 and cold[s]["loop_s"] > 0 and cold[s]["ratio"] > 0 for s in ("before", "after"))
    refresh = result["measures"]["refresh_300"]
    for s in ("before", "after"):
        assert refresh[s]["seconds"] > 0 and set(refresh[s]["phases"]) == {"read", "compute", "write"}
        assert refresh[s]["problems"] == 0, refresh[s]["status"]
