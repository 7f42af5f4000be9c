"""``streamcd adapt``: a tiny base model fine-tuned on a generated CDnet-style folder."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="adapt needs torch: pip install 'streamcd[train]'")
pytest.importorskip("onnxscript", reason="torch.onnx (dynamo) needs onnxscript")

from streamcd.cdnet_layout import CdnetVideo
from streamcd.cli import main
from streamcd.errors import ConfigError, DatasetError, StreamcdError
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.train.adapt import AdaptConfig, adapt, pick_frames
from streamcd.train.export import load_checkpoint
from streamcd.train.net import ChangeNet, NetConfig
from tests.conftest import square_frames

pytestmark = [
    pytest.mark.filterwarnings("ignore:# The axis name:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*treespec, LeafSpec:FutureWarning"),
]

NET = NetConfig(widths=(4, 8, 8), embed=(4, 4, 6))  # tiny: export in seconds
FRAMES, FIRST = 130, 11  # training range 11..38, held-out 89..130


def write_scene(root, frames=FRAMES, first=FIRST):
    """A CDnet video folder of a moving square: warm-up frames labelled 85 (outside ROI) as CDnet does."""
    images, masks = square_frames(frames)
    (root / "input").mkdir(parents=True)
    (root / "groundtruth").mkdir()
    for n, (img, mask) in enumerate(zip(images, masks), start=1):
        cv2.imwrite(str(root / "input" / f"in{n:06d}.jpg"), img)
        gt = np.where(mask, 255, 0).astype(np.uint8) if n >= first else np.full(mask.shape, 85, np.uint8)
        cv2.imwrite(str(root / "groundtruth" / f"gt{n:06d}.png"), gt)
    (root / "temporalROI.txt").write_text(f"{first} {frames}\n")
    return root


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("cdnet") / "baseline" / "square")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny random ChangeNet checkpoint in the format ``train()`` writes."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("base") / "checkpoint.pt"
    torch.save({
        "net": NET.as_dict(), "state_dict": ChangeNet(NET).eval().state_dict(), "threshold": 0.5,
        "validation": {"mean_f": 0.5}, "train": {"loss": "tcl", "tau": 0.1, "augment": {"crop": 64},
                                                  "temporal_mean": 2},
    }, path)
    return path


@pytest.fixture(scope="module")
def adapted(scene, base, tmp_path_factory):
    cfg = AdaptConfig(video=scene, base=base, out=tmp_path_factory.mktemp("adapted"), name="tiny",
                      frames=6, val_frames=2, max_steps=4, eval_every=2, batch=2, measure=True)
    return adapt(cfg)


@pytest.mark.slow
def test_adapted_card_loads(adapted):
    model = OnnxChangeModel.load(adapted.card, provider="cpu")
    assert model.card.name == "tiny"
    assert model.threshold == pytest.approx(round(adapted.threshold, 4))
    frames = np.zeros((2, 120, 160, 3), np.uint8)
    assert model.compare(model.encode(frames[:1]), model.encode(frames)).shape == (2, 60, 80)
    net, ckpt = load_checkpoint(adapted.checkpoint)
    assert net.cfg == NET and ckpt["adapt"]["steps"] == adapted.steps == 4
    # tuned for this camera: each frame's map alone, whatever the base card averaged
    assert model.temporal_mean == 1 and ckpt["train"]["temporal_mean"] == 1


@pytest.mark.slow
def test_card_records_the_run(adapted, scene, base):
    raw = json.loads(adapted.card.read_text())
    info = raw["adapt"]
    assert info["base"] == str(base) and info["video"] == "baseline/square"
    assert info["threshold"] == raw["threshold"]
    assert set(info) >= {"val_f_before", "val_f_after", "minutes", "heldout_before", "heldout_after"}
    assert raw["metrics"]["heldout_f"]["baseline/square"] == adapted.heldout_f_after
    assert 0.0 <= adapted.heldout_f_before <= 1.0 and 0.0 <= adapted.heldout_f_after <= 1.0
    # the best weights on the validation frames are kept: never worse there than the base's
    assert adapted.val_f_after >= adapted.val_f_before


@pytest.mark.slow
def test_only_training_frames_are_used(adapted, scene):
    video = CdnetVideo.open(scene)
    first, last = video.training_range()
    used = adapted.train_frames + adapted.val_frames
    assert len(adapted.train_frames) == 6 and len(adapted.val_frames) == 2
    assert not set(adapted.train_frames) & set(adapted.val_frames)
    assert all(first <= n <= last for n in used)
    assert max(used) < video.heldout_range()[0] - 50


def test_frames_spread_over_the_training_range(scene):
    train, val = pick_frames(CdnetVideo.open(scene), 8, 3)
    assert train[0] == FIRST and train[-1] == CdnetVideo.open(scene).training_range()[1]
    assert len(set(train + val)) == 11 and train[0] < min(val) and max(val) < train[-1]


def _no_groundtruth(root):
    shutil.rmtree(root / "groundtruth")


def _training_groundtruth_missing(root):
    for n in range(FIRST, 60):
        (root / "groundtruth" / f"gt{n:06d}.png").unlink()


def _no_input(root):
    shutil.rmtree(root / "input")


@pytest.mark.parametrize(
    ("damage", "frames", "error", "match"),
    [
        (_no_groundtruth, 6, DatasetError, "no groundtruth/ folder"),  # unlabelled camera
        (None, 40, DatasetError, "28 labelled frames .* but 48 are needed"),  # asks for too many
        # labels only on the held-out frames: they are never trained on
        (_training_groundtruth_missing, 6, DatasetError, "0 labelled frames in the training range"),
        (_no_input, 6, DatasetError, "not a CDnet video folder"),
    ],
)
def test_bad_folder(tmp_path, base, damage, frames, error, match):
    root = write_scene(tmp_path / "cat" / "cam")
    if damage:
        damage(root)
    with pytest.raises(error, match=match):
        adapt(AdaptConfig(video=root, base=base, out=tmp_path / "out", frames=frames))
    assert not (tmp_path / "out").exists()


def test_bad_options(tmp_path, scene):
    with pytest.raises(StreamcdError, match="base checkpoint not found"):
        adapt(AdaptConfig(video=scene, base=tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="batchnorm must be one of frozen, train"):
        AdaptConfig(video=scene, batchnorm="off")


def test_cli_reports_a_bad_folder(tmp_path, base, capsys):
    root = write_scene(tmp_path / "cat" / "cam")
    _no_groundtruth(root)
    assert main(["adapt", "--video", str(root), "--base", str(base)]) == 1
    assert "no groundtruth/ folder" in capsys.readouterr().err


@pytest.mark.slow
def test_adapted_card_keeps_the_base_shadow_network(scene, base, tmp_path):
    """The shipped base has shadows.onnx beside it: the adapted card names a copy, so an adapted
    model still clears hard shadows."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copyfile(base, shipped / "default.pt")
    shutil.copyfile("export/shadows.onnx", shipped / "shadows.onnx")
    cfg = AdaptConfig(video=scene, base=shipped / "default.pt", out=tmp_path / "adapted", name="tiny",
                      frames=4, val_frames=1, max_steps=1, eval_every=1, batch=2)
    card = adapt(cfg).card
    assert json.loads(card.read_text())["shadows"] == "shadows.onnx"
    model = OnnxChangeModel.load(card, provider="cpu")
    assert model.shadows == tmp_path / "adapted" / "shadows.onnx" and model.shadows.is_file()
    # a base without one gives a card without one; a named file that is missing is refused first
    assert "shadows" not in json.loads(adapt(AdaptConfig(
        video=scene, base=base, out=tmp_path / "plain", frames=4, val_frames=1, max_steps=1,
        eval_every=1, batch=2)).card.read_text())
    with pytest.raises(StreamcdError, match="no such file"):
        adapt(AdaptConfig(video=scene, base=base, out=tmp_path / "x", shadows=tmp_path / "none.onnx"))
    assert not (tmp_path / "x").exists()
