"""The pipeline schema: YAML files in, typed configs out; errors name the key, line and choices."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from streamcd.config import (
    AnnotatedVideoSinkConfig,
    CdnetSinkConfig,
    CdnetSourceConfig,
    ImagesSourceConfig,
    JsonlSinkConfig,
    MaskVideoSinkConfig,
    PipelineConfig,
    RtspSourceConfig,
    VideoSourceConfig,
    WebcamSourceConfig,
)
from streamcd.errors import ConfigError
from tests.conftest import REPO

SOURCE_TYPES = "'video', 'cdnet', 'images', 'rtsp', 'webcam'"


def load(tmp_path: Path, text: str, overrides=()) -> PipelineConfig:
    path = tmp_path / "pipeline.yaml"
    path.write_text(dedent(text).lstrip("\n"))
    return PipelineConfig.from_yaml(path, overrides)


def error_of(tmp_path: Path, text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, overrides)
    assert isinstance(info.value, ValueError)  # ConfigError is also the matching builtin
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Valid files


def one_stream(source: str, extra: str = "") -> str:
    """A one-stream pipeline whose source block is ``source`` (indented flow or block YAML)."""
    return f"streams:\n  - name: cam\n    source: {source}\n{extra}"


VALID = [
    # every source type, with its own keys
    (
        one_stream("{type: video, path: clip.mp4, max_frames: 5}"),
        VideoSourceConfig,
        {"path": "clip.mp4", "max_frames": 5},
    ),
    (
        one_stream("{type: cdnet, path: data/highway, temporal_roi_only: true}"),
        CdnetSourceConfig,
        {"path": Path("data/highway"), "temporal_roi_only": True, "on_corrupt": "skip"},
    ),
    (
        one_stream("{type: images, pattern: 'frames/*.png', fps: 10}"),
        ImagesSourceConfig,
        {"pattern": "frames/*.png", "fps": 10.0},
    ),
    (
        one_stream(
            "{type: rtsp, url: 'rtsp://cam/1', transport: udp, reconnect: {max_delay_s: 3}}"
        ),
        RtspSourceConfig,
        {"url": "rtsp://cam/1", "transport": "udp", "queue_size": 1},
    ),
    (
        one_stream("{type: webcam, device: /dev/video2, width: 640, height: 480}"),
        WebcamSourceConfig,
        {"device": "/dev/video2", "width": 640, "fps": None},
    ),
]


@pytest.mark.parametrize(("text", "cls", "values"), VALID, ids=[v[1].__name__ for v in VALID])
def test_every_source_type_loads(tmp_path, text, cls, values):
    source = load(tmp_path, text).streams[0].source
    assert type(source) is cls
    assert {k: getattr(source, k) for k in values} == values


def test_every_sink_type_loads_with_defaults_from_the_schema(tmp_path):
    cfg = load(
        tmp_path,
        """
        streams:
          - name: cam
            source: {type: video, path: clip.mp4}
            sinks:
              - {type: cdnet, dir: out/results}
              - {type: mask_video, path: out/masks.mp4, crf: 30}
              - {type: annotated_video, path: out/annotated.mp4, draw: boxes}
              - {type: jsonl, path: out/events.jsonl, every: 5}
        """,
    )
    stream = cfg.streams[0]
    assert [type(s) for s in stream.sinks] == [
        CdnetSinkConfig,
        MaskVideoSinkConfig,
        AnnotatedVideoSinkConfig,
        JsonlSinkConfig,
    ]
    cdnet, mask, annotated, jsonl = stream.sinks
    assert cdnet.dir == Path("out/results")
    assert (mask.crf, mask.fps) == (30, None)
    assert (annotated.draw, annotated.alpha) == ("boxes", 0.4)
    assert jsonl.every == 5
    # Defaults live in the schema: nothing given, everything set.
    assert (cfg.model.provider, cfg.model.name, cfg.model.path) == ("auto", "default", None)
    assert (stream.background.init, stream.background.frames, stream.background.stride) == (
        "median",
        30,
        1,
    )
    assert stream.background.update_rate == 0.0 and stream.postprocess.threshold is None


@pytest.mark.parametrize(
    "background",
    [
        "{init: image, image: empty.png}",  # a known empty scene
        "{init: cdnet, frames: 50}",  # median of the CDnet frames before temporalROI
        "{init: median, frames: 10, stride: 3, update_rate: 0.05, state_dir: state}",
    ],
)
def test_background_variants_load(tmp_path, background):
    cfg = load(tmp_path, one_stream("{type: cdnet, path: v}", f"    background: {background}\n"))
    assert cfg.streams[0].background.init in ("image", "cdnet", "median")


def test_two_streams_keep_their_order_and_names(tmp_path):
    cfg = load(
        tmp_path,
        """
        model: {provider: cpu, threads: 2}
        streams:
          - {name: north, source: {type: video, path: a.mp4}}
          - {name: south_2.cam-b, source: {type: video, path: b.mp4}}
        """,
    )
    assert [s.name for s in cfg.streams] == ["north", "south_2.cam-b"]
    assert (cfg.model.provider, cfg.model.threads) == ("cpu", 2)


PIPELINES = sorted((REPO / "pipelines").glob("*.yaml"))


def test_the_repo_ships_pipelines():
    assert PIPELINES, "pipelines/ holds no YAML"


@pytest.mark.parametrize("path", PIPELINES, ids=[p.name for p in PIPELINES])
def test_shipped_pipelines_validate_and_their_inputs_exist(path):
    cfg = PipelineConfig.from_yaml(path)
    for stream in cfg.streams:
        source = stream.source
        if source.type in ("video", "cdnet"):  # relative to the repo root, where they are run
            assert (REPO / source.path).exists(), f"{path.name}: {source.path} is missing"


# ---------------------------------------------------------------------------------------------
# Validation errors: path, line, allowed values


ERRORS = [
    # unknown key in a source lists the source's keys
    (
        """
        streams:
          - name: cam
            source:
              type: video
              path: clip.mp4
              bogus: 1
        """,
        [
            "streams[0].source.bogus (line 6)",
            "unknown key 'bogus'",
            "allowed keys: type, path, max_frames",
        ],
    ),
    # unknown key at the top level
    (
        """
        modle: {provider: cpu}
        streams: [{name: cam, source: {type: video, path: a.mp4}}]
        """,
        ["modle (line 1)", "allowed keys: model, streams, stats_every_s"],
    ),
    # unknown key in a sink lists that sink type's keys
    (
        """
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
            sinks:
              - type: cdnet
                dirr: out
        """,
        [
            "streams[0].sinks[0].dirr (line 6)",
            "allowed keys: type, dir",
            "streams[0].sinks[0].dir (line 5): required key is missing",
            "(2 problems)",
        ],
    ),
    # wrong type: a word where a number belongs
    (
        """
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
            background:
              frames: thirty
        """,
        ["streams[0].background.frames (line 5)", "valid integer", "'thirty'"],
    ),
    # out of range
    (
        """
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
            postprocess: {min_area: -3}
        """,
        ["streams[0].postprocess.min_area (line 4)", "greater than or equal to 0", "-3"],
    ),
    # a choice outside the allowed values
    (
        """
        model:
          provider: gpu
        streams: [{name: cam, source: {type: video, path: a.mp4}}]
        """,
        ["model.provider (line 2)", "'auto', 'cuda', 'tensorrt' or 'cpu'", "'gpu'"],
    ),
    # unknown source type lists the valid ones, at the `type:` line
    (
        """
        streams:
          - name: cam
            source:
              path: a.mp4
              type: camera
        """,
        ["streams[0].source.type (line 5)", "unknown type 'camera'", SOURCE_TYPES],
    ),
    # unknown sink type
    (
        """
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
            sinks:
              - {type: png, dir: out}
        """,
        [
            "streams[0].sinks[0].type (line 5)",
            "unknown type 'png'",
            "'cdnet', 'mask_video', 'annotated_video', 'jsonl'",
        ],
    ),
    # a source without `type:` lists the valid ones
    (
        """
        streams:
          - name: cam
            source: {path: a.mp4}
        """,
        ["streams[0].source (line 3)", "missing key 'type'", "video, cdnet, images, rtsp, webcam"],
    ),
    # missing required keys
    (
        """
        streams:
          - name: cam
            source:
              type: video
        """,
        ["streams[0].source.path (line 3)", "required key is missing"],
    ),
    (
        """
        streams:
          - source: {type: video, path: a.mp4}
        """,
        ["streams[0].name (line 2)", "required key is missing"],
    ),
    (
        """
        model: {provider: cpu}
        """,
        ["streams (line 1)", "required key is missing"],
    ),
    # an empty streams list
    (
        """
        streams: []
        """,
        ["streams (line 1)", "at least 1 item"],
    ),
    # a name that cannot be a folder name
    (
        """
        streams:
          - name: my cam
            source: {type: video, path: a.mp4}
        """,
        ["streams[0].name (line 2)", "pattern", "'my cam'"],
    ),
    # duplicate stream names
    (
        """
        model: {provider: cpu}
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
          - name: cam
            source: {type: video, path: b.mp4}
        """,
        ["streams (line 2)", "stream names must be unique; repeated: cam"],
    ),
    # init image without an image path
    (
        """
        streams:
          - name: cam
            source: {type: video, path: a.mp4}
            background:
              init: image
        """,
        ["streams[0].background (line 4)", "needs background.image"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_validation_errors_name_path_line_and_choices(tmp_path, text, expected):
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'pipeline.yaml'}: invalid configuration")
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert "Value error," not in message and "pydantic" not in message


def two_streams(cam_sinks: str, lobby_sinks: str = "[]") -> str:
    return f"""
        streams:
          - {{name: cam, source: {{type: video, path: a.mp4}}, sinks: {cam_sinks}}}
          - {{name: lobby, source: {{type: video, path: b.mp4}}, sinks: {lobby_sinks}}}
        """


@pytest.mark.parametrize(
    ("text", "clashes"),
    [
        # two JSON Lines sinks of one stream on one file
        (
            two_streams("[{type: jsonl, path: out/e.jsonl}, {type: jsonl, path: out/e.jsonl}]"),
            [("streams[0].sinks[0] (stream cam, jsonl path out/e.jsonl)",
              "streams[0].sinks[1] (stream cam, jsonl path out/e.jsonl)", "out/e.jsonl")],
        ),
        # one CDnet folder for two streams, spelled differently: resolved paths are compared
        (
            two_streams("[{type: cdnet, dir: out/res}]", "[{type: cdnet, dir: ./out/x/../res/}]"),
            [("streams[0].sinks[0] (stream cam, cdnet dir out/res)",
              "streams[1].sinks[0] (stream lobby, cdnet dir out/x/../res)", "out/res")],
        ),
        # different sink types on one file, and a second clash reported with the first
        (
            two_streams("[{type: mask_video, path: v.mp4}, {type: jsonl, path: e.jsonl}]",
                        "[{type: annotated_video, path: v.mp4}, {type: jsonl, path: e.jsonl}]"),
            [("streams[0].sinks[0] (stream cam, mask_video path v.mp4)",
              "streams[1].sinks[0] (stream lobby, annotated_video path v.mp4)", "v.mp4"),
             ("streams[0].sinks[1] (stream cam, jsonl path e.jsonl)",
              "streams[1].sinks[1] (stream lobby, jsonl path e.jsonl)", "e.jsonl")],
        ),
        # a file sink on another sink's CDnet folder
        (
            two_streams("[{type: cdnet, dir: out}]", "[{type: jsonl, path: out}]"),
            [("streams[0].sinks[0] (stream cam, cdnet dir out)",
              "streams[1].sinks[0] (stream lobby, jsonl path out)", "out")],
        ),
    ],
)
def test_two_sinks_on_one_output_are_refused(tmp_path, monkeypatch, text, clashes):
    monkeypatch.chdir(tmp_path)  # relative outputs are relative to the working directory
    message = error_of(tmp_path, text)
    assert "streams (line 1): " in message and message.count("\n") == 1  # one problem
    for first, second, output in clashes:
        assert f"{first} and {second} both write {tmp_path.resolve() / output}" in message
    assert message.endswith("; give each sink its own output path")


def test_sinks_on_different_outputs_load(tmp_path):
    cfg = load(tmp_path, two_streams("[{type: cdnet, dir: out/cam}, {type: jsonl, path: out/e.jsonl}]",
                                     "[{type: cdnet, dir: out/lobby}, {type: jsonl, path: e.jsonl}]"))
    assert [len(s.sinks) for s in cfg.streams] == [2, 2]


FILE_ERRORS = [
    # YAML syntax errors carry the line (and column) of the problem
    ("streams:\n  - name: a\n\tsource: x\n", ["line 3, column 1", "YAML syntax error", "'\\t'"]),
    ("model: {provider: cpu\nstreams:\n  - name: a\n", ["line 2, column 8", "YAML syntax error"]),
    (
        "streams:\n  - name: a\n    source: type: video\n",
        ["line 3", "YAML syntax error", "mapping values are not allowed"],
    ),
    # empty files
    ("", ["the file is empty", "'streams:'"]),
    ("# only a comment\n", ["the file is empty"]),
    # not a mapping
    ("- name: a\n- name: b\n", ["top level must be a mapping"]),
    # a key given twice: PyYAML would keep the last one silently
    (
        "model: {provider: cpu}\nstreams: []\nmodel: {provider: cuda}\n",
        ["line 3", "duplicate key 'model'", "first at line 1"],
    ),
    (
        "streams:\n  - name: a\n    source: {type: video, path: x}\n    name: b\n",
        ["line 4", "duplicate key 'streams[0].name'", "first at line 2"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), FILE_ERRORS)
def test_file_level_errors(tmp_path, text, expected):
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_yaml(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "absent.yaml", "config file not found"),
        (lambda d: d, "cannot read config file"),  # a folder
        (
            lambda d: (d / "latin1.yaml", (d / "latin1.yaml").write_bytes(b"name: \xe9\n"))[0],
            "cannot read config file",
        ),
    ],
)
def test_unreadable_config_files(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=expected):
        PipelineConfig.from_yaml(path)


# ---------------------------------------------------------------------------------------------
# --set overrides

BASE = """
    model:
      provider: auto
    streams:
      - name: cam
        source: {type: video, path: a.mp4}
        sinks:
          - {type: cdnet, dir: out}
    """


@pytest.mark.parametrize(
    ("overrides", "read", "expected"),
    [
        (["streams[0].source.path=x.mp4"], lambda c: c.streams[0].source.path, "x.mp4"),
        (["streams.0.source.path=x.mp4"], lambda c: c.streams[0].source.path, "x.mp4"),
        (["model.provider=cpu"], lambda c: c.model.provider, "cpu"),
        # values are YAML: numbers become numbers, flow mappings become mappings
        (["streams[0].background.frames=5"], lambda c: c.streams[0].background.frames, 5),
        (
            ["streams[0].sinks[0]={type: jsonl, path: e.jsonl}"],
            lambda c: type(c.streams[0].sinks[0]),
            JsonlSinkConfig,
        ),
        (["model.threads=2", "model.threads=3"], lambda c: c.model.threads, 3),  # last one wins
        # switching the source type through --set
        (["streams[0].source={type: cdnet, path: v}"], lambda c: c.streams[0].source.type, "cdnet"),
        (["model.path = my/model.json"], lambda c: c.model.path, Path("my/model.json")),
    ],
)
def test_set_overrides(tmp_path, overrides, read, expected):
    assert read(load(tmp_path, BASE, overrides)) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # a bad list index names the index, the list and its length
        (
            ["streams[1].source.path=x"],
            [
                "--set 'streams[1].source.path=x'",
                "index 1 is out of range: streams has 1 item (valid index: 0)",
            ],
        ),
        (
            ["streams.0.sinks.4.dir=x"],
            ["index 4 is out of range: streams[0].sinks has 1 item (valid index: 0)",
             "does not add them"],
        ),
        (["streams[0].sinks.x.dir=x"], ["streams[0].sinks is a list; 'x' is not an item index"]),
        (["streams[-1].name=x"], ["--set 'streams[-1].name=x': 'streams[-1]' is not a key"]),
        # a list that is not in the file is not created as a mapping (once: "valid list")
        (
            ["streams[0].postprocess.boxes.0=x"],
            ["streams[0].postprocess.boxes is not in the config, so it has no item 0",
             "add the list"],
        ),
        (["model.provider"], ["expected KEY=VALUE", "model.provider=cpu"]),
        (["=cpu"], ["empty key"]),
        (["model.provider=[cpu"], ["value is not valid YAML"]),
        (["streams[0].name.first=x"], ["streams[0].name is a value, not a mapping or list"]),
        # a bad value names the --set it came from, not a YAML line it never had
        (
            ["model.provider=gpu"],
            [
                "model.provider (from --set model.provider=gpu)",
                "'auto', 'cuda', 'tensorrt' or 'cpu'",
            ],
        ),
        (
            ["streams[0].source.type=camera"],
            ["streams[0].source.type (from --set streams[0].source.type=camera)", SOURCE_TYPES],
        ),
        (
            ["streams[0].background.bogus=1"],
            ["streams[0].background.bogus (from --set", "allowed keys: model, bank, init, image, frames"],
        ),
    ],
)
def test_set_override_errors(tmp_path, overrides, expected):
    message = error_of(tmp_path, BASE, overrides)
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"
    assert "(line" not in message


def test_set_errors_and_file_errors_are_reported_together(tmp_path):
    message = error_of(
        tmp_path,
        BASE.replace("provider: auto", "provider: gpu"),
        ["streams[0].background.stride=0"],
    )
    assert "(2 problems)" in message
    assert "model.provider (line 2)" in message
    assert "streams[0].background.stride (from --set streams[0].background.stride=0)" in message


# ---------------------------------------------------------------------------------------------
# One batching setting for both backends (ray.max_batch / ray.max_wait_ms moved to model:)


@pytest.mark.parametrize(
    ("sections", "batch", "deprecated", "error"),
    [
        ("model: {max_batch: 4, max_wait_ms: 3}", (4, 3.0), [], None),  # the one place
        ("ray: {max_batch: 8}", (8, 5.0), ["ray.max_batch"], None),  # older YAML: read as model.*
        ("ray: {max_batch: 8, max_wait_ms: 2}", (8, 2.0), ["ray.max_batch", "ray.max_wait_ms"],
         None),
        ("model: {max_batch: 8}\nray: {max_batch: 8}", (8, 5.0), ["ray.max_batch"], None),  # agree
        # both, disagreeing: which one applies is the error's point
        ("model: {max_batch: 4}\nray: {max_batch: 8}", None, [],
         ("ray (line 5): ray.max_batch (8) and model.max_batch (4) disagree; both backends batch with "
         "model.max_batch now: remove ray.max_batch")),
        ("model: {max_batch: 8, max_wait_ms: 1}\nray: {max_batch: 8, max_wait_ms: 2}", None, [],
         "ray (line 5): ray.max_wait_ms (2) and model.max_wait_ms (1.0) disagree"),
        ("ray: {max_batch: 0}", None, [], "model.max_batch"),  # still validated, under its new key
    ],
)
def test_batching_is_one_model_setting(tmp_path, caplog, sections, batch, deprecated, error):
    text = one_stream("{type: video, path: a.mp4}", sections + "\n")
    if error is not None:
        assert error in error_of(tmp_path, text)
        return
    with caplog.at_level("WARNING", logger="streamcd.config"):
        config = load(tmp_path, text)
    assert (config.model.max_batch, config.model.max_wait_ms) == batch
    warned = [r.getMessage() for r in caplog.records]
    assert [w.split(" is deprecated")[0] for w in warned] == deprecated
    assert all("move the value there" in w for w in warned)
    assert "max_batch" not in config.ray.model_dump()  # the ray section no longer has it


# ---------------------------------------------------------------------------------------------
# postprocess.calibrate (the per-scene threshold rule, removed): read and ignored, with a warning


def test_the_removed_postprocess_calibrate_is_ignored_with_a_warning(tmp_path, caplog):
    text = dedent("""
        streams:
          - {name: a, source: {type: video, path: a.mp4}, postprocess: {calibrate: true}}
          - name: b
            source: {type: video, path: b.mp4}
            postprocess: {calibrate: false, threshold: 0.6}
          - {name: c, source: {type: video, path: c.mp4}}
    """)
    with caplog.at_level("WARNING", logger="streamcd.config"):
        config = load(tmp_path, text)
    assert [s.postprocess.threshold for s in config.streams] == [None, 0.6, None]
    assert all("calibrate" not in s.postprocess.model_dump() for s in config.streams)
    warning = ("postprocess.calibrate is no longer used: the per-scene threshold rule was "
               "removed; remove the key")
    assert [r.getMessage() for r in caplog.records] == [warning, warning]  # streams a and b
    with pytest.raises(ConfigError, match="unknown key 'calibrat'"):  # other keys: still refused
        load(tmp_path, text.replace("calibrate: true", "calibrat: true"))
