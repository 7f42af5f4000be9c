"""open_sink(): one table from config type to sink class; unwritable outputs fail at once."""

from __future__ import annotations

import pytest

from streamcd.config import (
    AnnotatedVideoSinkConfig,
    CdnetSinkConfig,
    JsonlSinkConfig,
    MaskVideoSinkConfig,
)
from streamcd.errors import ConfigError, SinkError
from streamcd.sinks import (
    SINKS,
    AnnotatedVideoSink,
    CdnetSink,
    JsonlSink,
    MaskVideoSink,
    Sink,
    open_sink,
)

CASES = [
    # (config from an output location, expected class)
    (lambda out: CdnetSinkConfig(dir=out / "bin"), CdnetSink),
    (lambda out: MaskVideoSinkConfig(path=out / "mask.mp4"), MaskVideoSink),
    (lambda out: AnnotatedVideoSinkConfig(path=out / "ann.mp4"), AnnotatedVideoSink),
    (lambda out: JsonlSinkConfig(path=out / "frames.jsonl"), JsonlSink),
]


@pytest.mark.parametrize(("make_config", "cls"), CASES)
def test_open_sink_picks_the_class(tmp_path, make_config, cls):
    config = make_config(tmp_path)
    with open_sink(config, fps=25.0) as sink:
        assert type(sink) is cls and isinstance(sink, Sink)
        assert SINKS[config.type] is cls


def test_every_config_type_has_a_sink():
    assert set(SINKS) == {"cdnet", "mask_video", "annotated_video", "jsonl"}


def test_unknown_type_lists_the_valid_ones():
    class Fake:
        type = "gif"

    with pytest.raises(
        ConfigError, match="'gif'.*cdnet, mask_video, annotated_video, jsonl"
    ):
        open_sink(Fake(), fps=None)


@pytest.mark.parametrize(("make_config", "cls"), CASES)
def test_unwritable_output_fails_at_construction(tmp_path, make_config, cls):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = make_config(blocker / "sub")  # a folder under a regular file cannot exist
    with pytest.raises(SinkError, match="a-file/sub") as info:
        open_sink(config, fps=None)
    assert f"{blocker} is a file, not a folder" in str(info.value)


@pytest.mark.parametrize(("make_config", "cls"), CASES)
def test_no_result_leaves_no_output(tmp_path, make_config, cls):
    # A source that yields nothing: no empty file, results folder or output folder remains.
    with open_sink(make_config(tmp_path / "out"), fps=25.0):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("make_config", "cls"), CASES)
def test_the_first_result_creates_the_output(tmp_path, make_config, results, cls):
    config = make_config(tmp_path / "out" / "sub")
    with open_sink(config, fps=25.0) as sink:
        sink.write(results(1)[0])
    output = getattr(config, "path", None) or config.dir
    assert output.exists()
    assert [p.name for p in output.parent.iterdir()] == [output.name]  # no partial files left
