"""``bench speed --streams N``: the real pipeline over N copies of a source."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamcd.bench.streams import pipeline_markdown, pipeline_speed
from tests.conftest import square_frames, write_clip


def test_pipeline_speed_counts_every_stream(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(12)[0])
    run = pipeline_speed(clip, streams=2, frames=10, out=tmp_path / "out", provider="cpu", threads=1)
    assert (run.streams, run.frames, run.provider, run.threads) == (2, 20, "cpu", 1)
    assert len(run.stream_fps) == 2 and run.aggregate_fps > 0
    for i in range(2):
        assert len(list((tmp_path / "out" / f"s{i}").glob("bin*.png"))) == 10
    table = pipeline_markdown([run], mog2_fps=run.aggregate_fps)
    assert table.splitlines()[2].startswith("| 2 | cpu | 1 | 20 |") and table.endswith(" 1.00 |")
    assert "| 1 | n/a | 1.00 |" in table  # max batch 1 (off), no GPU memory on CPU
    assert run.to_dict()["gpu_memory_mb"] is None


def test_pipeline_speed_batched_streams(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(12)[0])
    run = pipeline_speed(clip, streams=2, frames=10, out=tmp_path / "out", provider="cpu", threads=1,
                         max_batch=2)
    assert (run.frames, run.max_batch) == (20, 2)
    header, rule, row = pipeline_markdown([run], mog2_fps=None).splitlines()
    assert header.count("|") == rule.count("|") == row.count("|") and "| 2 | n/a |" in row


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("default-int8", "default-int8.json"),  # a shipped model by name
        ("nosuch", SystemExit),  # unknown name: usage error listing the shipped ones
    ],
)
def test_bench_model_option_takes_a_shipped_name(model, expected, capsys):
    from streamcd.bench.cli import add_bench_command

    parser = argparse.ArgumentParser()
    add_bench_command(parser.add_subparsers())
    if expected is SystemExit:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(["bench", "heldout", "--model", model])
        assert exit_info.value.code == 2
        assert "no shipped model named 'nosuch'; available: accurate, default" in capsys.readouterr().err
    else:
        args = parser.parse_args(["bench", "heldout", "--model", model])
        assert Path(args.model).name == expected and Path(args.model).exists()
