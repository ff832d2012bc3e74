"""bench_frames.py runs end to end on a small input and prints its table and checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_frames.py"


def test_bench_frames_small_run(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--activities",
            "3000",
            "--repeat",
            "1",
            "--keep",
            str(tmp_path / "pages"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr[-2000:]  # 1: a target failed (small input)
    text = out.stdout
    assert "generated 3,000 activities" in text
    for way in (
        "| floor |",
        "| ours |",
        "| ours-pyarrow |",
        "| pandas |",
        "| one 1,000-activity page |",
    ):
        assert way in text
    assert "one page under 50 ms" in text and "faster than pandas" in text
    assert len(list((tmp_path / "pages").glob("page-*.json"))) >= 10
