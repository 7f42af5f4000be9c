"""CdnetSink: bin%06d.png named by frame number, 0/255, at the input size, written atomically."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.config import CdnetSinkConfig
from streamcd.errors import SinkError
from streamcd.frames import Frame, Result
from streamcd.sinks import CdnetSink


def read_png(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} is not a readable PNG"
    return image


def test_names_values_and_size(tmp_path, results):
    out = tmp_path / "results" / "highway"  # nested folders are created
    written = results(5, size=(161, 121), first_number=470)
    with CdnetSink(CdnetSinkConfig(dir=out)) as sink:
        assert not (tmp_path / "results").exists()  # created with the first mask
        for r in written:
            sink.write(r)
    assert sorted(p.name for p in out.iterdir()) == [
        f"bin{n:06d}.png" for n in range(470, 475)
    ]
    for r in written:
        png = read_png(out / f"bin{r.frame.number:06d}.png")
        assert png.dtype == np.uint8 and png.shape == (
            121,
            161,
        )  # single channel, input size
        assert set(np.unique(png)) == {0, 255}
        np.testing.assert_array_equal(png, r.mask)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (np.eye(4, dtype=bool), np.eye(4, dtype=np.uint8) * 255),  # bool -> 0/255
        (np.eye(4, dtype=np.uint8), np.eye(4, dtype=np.uint8) * 255),  # 0/1 -> 0/255
        (
            np.eye(4, dtype=np.float32) * 0.3,
            np.eye(4, dtype=np.uint8) * 255,
        ),  # non-zero = fg
        (
            np.ones((2, 2), np.uint8) * 255,
            np.full((4, 4), 255, np.uint8),
        ),  # resized to input
    ],
)
def test_masks_are_normalised_to_binary_input_size(tmp_path, mask, expected):
    frame = Frame(index=0, number=1, timestamp=0.0, image=np.zeros((4, 4, 3), np.uint8))
    with CdnetSink(CdnetSinkConfig(dir=tmp_path)) as sink:
        sink.write(Result(frame, mask))
    np.testing.assert_array_equal(read_png(tmp_path / "bin000001.png"), expected)


def test_rewrite_replaces_and_leaves_no_temporary_files(tmp_path, results):
    first, second = results(2)
    again = Result(first.frame, second.mask)  # same frame number, other mask
    with CdnetSink(CdnetSinkConfig(dir=tmp_path)) as sink:
        sink.write(first)
        sink.write(again)
    assert [p.name for p in tmp_path.iterdir()] == ["bin000001.png"]
    np.testing.assert_array_equal(read_png(tmp_path / "bin000001.png"), second.mask)


def test_close_is_idempotent_and_write_after_close_fails(tmp_path, results):
    sink = CdnetSink(CdnetSinkConfig(dir=tmp_path))
    sink.close()
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.write(results(1)[0])
