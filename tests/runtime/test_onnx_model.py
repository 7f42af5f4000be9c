"""The shipped ONNX change model on ONNX Runtime: loading, providers, shapes, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from streamcd.config import PostprocessConfig
from streamcd.errors import ModelError, ProviderError
from streamcd.runtime.assets import resolve_card, shipped_models, shipped_models_dir
from streamcd.runtime.base import ChangeModel
from streamcd.runtime.onnx_model import ModelCard, OnnxChangeModel, OnnxHead
from tests.conftest import square_frames
from tests.test_processor import processor_for, run

HAS_CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@pytest.fixture(scope="module")
def model():
    return OnnxChangeModel.load(None, provider="cpu")


@pytest.fixture
def model_copy(tmp_path):
    """A copy of the shipped model's card and graphs (shadow network too) in tmp_path/model."""
    card = resolve_card(None)
    raw = json.loads(card.read_text())
    folder = tmp_path / "model"
    folder.mkdir()
    for name in (card.name, raw["encoder"], raw["head"], raw["shadows"]):
        shutil.copy(card.parent / name, folder / name)
    return folder


def images(n: int, w: int, h: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_shipped_model_is_found_and_loads(model):
    card = resolve_card(None)
    assert card == shipped_models_dir() / "default.json" and card.exists()
    assert "default" in shipped_models()
    assert isinstance(model, ChangeModel)
    raw = json.loads(card.read_text())
    assert model.threshold == pytest.approx(raw["threshold"])
    assert (model.multiple, model.stride) == (raw["input"]["multiple"], raw["output"]["stride"])
    assert model.card.name == "default"


def test_provider_reported(model):
    assert model.provider == "cpu"
    auto = OnnxChangeModel.load(None, provider="auto")
    assert auto.provider == ("cuda" if HAS_CUDA else "cpu")


@pytest.mark.skipif(HAS_CUDA, reason="onnxruntime-gpu is installed: CUDA may really be there")
@pytest.mark.parametrize("provider", ["cuda", "tensorrt"])
def test_gpu_provider_without_onnxruntime_gpu(provider):
    with pytest.raises(ProviderError) as info:
        OnnxChangeModel.load(None, provider=provider)
    message = str(info.value)
    assert f"provider {provider!r} asked for" in message
    assert "onnxruntime-gpu" in message and "provider: auto / cpu" in message


def test_unknown_provider():
    with pytest.raises(ProviderError, match="unknown provider 'gpu'; use one of auto, tensorrt"):
        OnnxChangeModel.load(None, provider="gpu")


def _corrupt_encoder(folder):
    (folder / "default.encoder.onnx").write_bytes(b"\x08\x07 not an onnx model")


def _truncate_head(folder):
    data = (folder / "default.head.onnx").read_bytes()
    (folder / "default.head.onnx").write_bytes(data[: len(data) // 2])


def _edit_card(**changes):
    def edit(folder):
        raw = json.loads((folder / "default.json").read_text())
        for key, value in changes.items():
            if value is None:
                del raw[key]
            else:
                raw[key] = value
        (folder / "default.json").write_text(json.dumps(raw))

    return edit


@pytest.mark.parametrize(
    ("damage", "target", "match"),
    [
        (_corrupt_encoder, "folder", "ONNX Runtime cannot load the model"),
        (_truncate_head, "card", "ONNX Runtime cannot load the model"),
        (
            lambda f: (f / "default.head.onnx").unlink(),
            "card",
            "model file default.head.onnx is missing next to the card",
        ),
        (
            lambda f: (f / "default.json").write_text("{not json"),
            "card",
            "not a valid streamcd model card",
        ),
        (_edit_card(threshold=None), "card", "not a valid streamcd model card.*threshold"),
        (_edit_card(input="NHWC"), "card", "not a valid streamcd model card"),
        (_edit_card(temporal_mean=0), "card", "temporal_mean 0 is not in 1..16"),
        (_edit_card(temporal_mean="two"), "card", "not a valid streamcd model card"),
        (lambda f: (f / "default.json").unlink(), "card", "model card not found"),
        (lambda f: (f / "default.json").unlink(), "folder", "expected exactly one model card"),
        (
            lambda f: shutil.copy(f / "default.json", f / "other.json"),
            "folder",
            "expected exactly one model card .* found 2",
        ),
    ],
)
def test_broken_models_raise_model_error(model_copy, damage, target, match):
    damage(model_copy)
    path = model_copy / "default.json" if target == "card" else model_copy
    with pytest.raises(ModelError, match=match):
        OnnxChangeModel.load(path, provider="cpu")


@pytest.mark.parametrize(("value", "expected"), [(None, 1), (1, 1), (3, 3)])
def test_the_card_temporal_mean_reaches_the_model(model_copy, value, expected):
    _edit_card(temporal_mean=value)(model_copy)  # None: a card from before the key existed
    assert OnnxChangeModel.load(model_copy, provider="cpu").temporal_mean == expected


def test_a_card_with_the_removed_per_scene_rule_loads_and_masks_at_its_threshold(model_copy):
    # cards exported before the rule was removed carry it as scene_threshold: it is ignored
    rule = {"quantile": 0.99, "scale": 6.5, "frames": 15, "fitted_on": {"scenes": 22}}
    _edit_card(scene_threshold=rule)(model_copy)
    model = OnnxChangeModel.load(model_copy, provider="cpu")
    assert model.card.raw["scene_threshold"] == rule
    card_threshold = json.loads((model_copy / "default.json").read_text())["threshold"]
    assert model.threshold == card_threshold
    # a median of 20 frames of the empty scene (where the rule set 0.1 x the card threshold)
    empty = square_frames(1, square=0)[0]
    processor = processor_for(model, PostprocessConfig(), frames=20)
    run(processor, empty * 20 + square_frames(6)[0])
    assert processor.postprocess.threshold == card_threshold


def test_shipped_cards_average_two_frames_for_new_cameras_and_one_for_trained_ones():
    assert OnnxChangeModel.load(None, "default", provider="cpu").temporal_mean == 2
    assert OnnxChangeModel.load(None, "accurate", provider="cpu").temporal_mean == 1


@pytest.mark.parametrize(
    ("given", "card"),
    [
        ("default.encoder.onnx", "default.json"),  # a graph of the card: the card is named
        ("default.head.onnx", "default.json"),
        ("default.pt", "default.json"),  # a checkpoint beside its card
        ("net.onnx", None),  # no card beside it: nothing to suggest
        ("default.json", None),  # a binary file named like a card (does not suggest itself)
    ],
)
def test_a_file_that_is_not_a_card_says_what_to_give(model_copy, given, card):
    path = model_copy / given
    if given == "default.json" or not path.exists():
        path.write_bytes(b"\x08\x07\x12\x00\xff\xfe binary")
    with pytest.raises(ModelError) as info:
        OnnxChangeModel.load(path, provider="cpu")
    message = str(info.value)
    assert message.startswith(f"{path}: not a model card; model.path (or --model) wants the "
                              "model card .json written by 'streamcd export'")
    assert "or the folder holding it" in message and "UnicodeDecodeError" not in message
    if card:
        assert message.endswith(f"; use {model_copy / card}")
    else:
        assert "; use" not in message


def test_unknown_shipped_name():
    with pytest.raises(ModelError, match="no shipped model named 'nope'; available: .*default"):
        OnnxChangeModel.load(None, name="nope")


def test_a_copied_card_loads_by_file_and_by_folder(model_copy):
    by_file = OnnxChangeModel.load(model_copy / "default.json", provider="cpu")
    by_folder = OnnxChangeModel.load(model_copy, provider="cpu")
    assert by_file.card.encoder == by_folder.card.encoder == model_copy / "default.encoder.onnx"
    assert isinstance(ModelCard.read(model_copy / "default.json"), ModelCard)


@pytest.mark.parametrize(
    ("n", "w", "h"),
    [
        (1, 320, 240),
        (1, 640, 480),
        (3, 320, 240),  # a batch
        (2, 64, 48),  # small, not the export size
        (1, 168, 96),  # sides multiples of 8 only
    ],
)
def test_encode_compare_shapes(model, n, w, h):
    card = json.loads(resolve_card(None).read_text())
    features = model.encode(images(n, w, h))
    assert len(features) == card["features"]
    assert all(f.shape[0] == n and f.dtype == np.float32 for f in features)
    reference = model.encode(images(1, w, h, seed=1))
    distance = model.compare(reference, features)  # one reference for the whole batch
    assert distance.shape == (n, h // model.stride, w // model.stride)
    assert distance.dtype == np.float32 and np.isfinite(distance).all()
    low, high = card["output"]["range"]
    assert low - 1e-4 <= distance.min() and distance.max() <= high + 1e-4
    # A batch-1 reference is the same as the reference repeated for every query.
    repeated = tuple(np.repeat(r, n, axis=0) for r in reference)
    np.testing.assert_allclose(model.compare(repeated, features), distance, atol=1e-5)


def test_identical_images_have_no_change(model):
    image = images(1, 160, 120)
    features = model.encode(image)
    assert model.compare(features, features).max() < 0.01
    # a single HxWx3 image is a batch of one
    np.testing.assert_array_equal(model.encode(image[0])[0], features[0])


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((1, 100, 100, 3), np.uint8), "multiples of 8, got 100x100"),
        (np.zeros((1, 240, 321, 3), np.uint8), "multiples of 8, got 321x240"),
        (np.zeros((2, 36, 64, 3), np.uint8), "multiples of 8, got 64x36"),
        (np.zeros((1, 240, 320, 3), np.float32), "uint8 BGR"),
        (np.zeros((1, 240, 320, 4), np.uint8), "uint8 BGR"),
        (np.zeros((240, 320), np.uint8), "uint8 BGR"),  # grey: convert before encode
    ],
)
def test_bad_images_raise_model_error(model, array, match):
    with pytest.raises(ModelError, match=match):
        model.encode(array)


@pytest.mark.parametrize(
    ("reference", "query"),
    [
        ((1, 320, 240), (2, 640, 480)),  # different image sizes
        ((2, 320, 240), (3, 320, 240)),  # a reference batch that is neither 1 nor the query's
    ],
)
def test_mismatched_features_raise_model_error(model, reference, query):
    ref = model.encode(images(reference[0], *reference[1:]))
    qry = model.encode(images(query[0], *query[1:]))
    with pytest.raises(ModelError, match="compare needs reference and query features"):
        model.compare(ref, qry)


@pytest.mark.parametrize("source", ["path", "bytes"])  # a card's file; a Ray model actor's graph
def test_the_head_alone_compares_with_a_bank_as_the_model_does(model, source):
    head = OnnxHead(model.card.head if source == "path" else model.card.head.read_bytes())
    samples = model.encode(images(4, 160, 120, seed=1))  # a bank of 4 samples
    query = model.encode(images(1, 160, 120, seed=2))
    for _ in range(2):  # the first comparison runs the graph, later ones numpy where it agrees
        np.testing.assert_allclose(head.compare_bank(samples, query),
                                   model.compare_bank(samples, query), atol=1e-5)
    with pytest.raises(ModelError, match="compare_bank needs bank samples"):
        head.compare_bank(samples, model.encode(images(1, 320, 240)))


def test_a_broken_head_graph_raises_model_error():
    with pytest.raises(ModelError, match="cannot load the head graph received"):
        OnnxHead(b"not onnx")


def test_installed_package_ships_its_model():
    """A non-editable install must find the default model inside the installed package."""
    import streamcd
    from streamcd.runtime.assets import shipped_models_dir

    package = Path(streamcd.__file__).resolve().parent
    repo = Path(__file__).resolve().parents[2]
    if package.parent == repo:
        pytest.skip("streamcd is imported from the source tree (editable install): nothing installed to check")
    assert shipped_models_dir() == package / "models"
    assert (package / "models" / "default.encoder.onnx").is_file()
