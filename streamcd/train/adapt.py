"""``streamcd adapt``: fine-tune a trained change model on a few labelled frames of one camera.

The frames come only from the video's training range (``CdnetVideo.training_range()``), never
from its held-out test frames. They are spread evenly over that range; a few of them, spread
the same way, are kept aside to re-pick the threshold and to keep the best weights seen
(the base model's own weights included, so a run that does not help changes nothing). Loss and
augmentation are the base model's own (its checkpoint's recipe), with a lower learning rate.

Example::

    result = adapt(AdaptConfig(video=Path("cams/gate"), base=Path("export/default.pt")))
    model = OnnxChangeModel.load(result.card)
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from ..cdnet_layout import CdnetVideo
from ..errors import ConfigError, DatasetError, StreamcdError
from ..runtime.onnx_model import given_shadows, shadows_entry
from .augment import AugmentConfig, sample_batch
from .data import LabelledVideo, cdnet_reference, load_cdnet_frames, stream_median
from .export import export_onnx, load_checkpoint
from .loss import mlso_loss
from .net import ChangeNet
from .validate import threshold_curve

log = logging.getLogger(__name__)

BATCHNORM_MODES = ("frozen", "train")


@dataclass(frozen=True)
class AdaptConfig:
    """One scene adaptation run (stored in the checkpoint and the model card)."""

    video: Path
    base: Path = Path("export/default.pt")
    out: Path | None = None  # default: runs/adapt/<category>_<video>
    name: str | None = None  # default: <video>-adapted
    frames: int = 40  # labelled frames to fine-tune on
    val_frames: int = 8  # further labelled frames to pick the threshold and the best step on
    minutes: float = 3.0
    max_steps: int = 1000  # ~3 min on 2 busy CPU cores; the best step was 650-850 in benchmarks/adapt_gain.py
    batch: int = 8
    lr: float = 5e-4
    # "frozen": batch-norm layers keep the base's running statistics (their scale and shift
    # still train); "train": statistics re-estimated from the scene's batches.
    batchnorm: str = "frozen"
    eval_every: int = 50
    measure: bool = False  # score base and adapted model on the held-out frames (needs their groundtruth)
    shadows: Path | None = None  # shadow network for the card; default: shadows.onnx beside the base
    seed: int = 0
    threads: int | None = None

    def __post_init__(self):
        if self.frames < 2:
            raise ConfigError(f"frames must be at least 2, got {self.frames}")
        if self.val_frames < 1:
            raise ConfigError(f"val_frames must be at least 1, got {self.val_frames}")
        if self.batchnorm not in BATCHNORM_MODES:
            raise ConfigError(f"batchnorm must be one of {', '.join(BATCHNORM_MODES)}, got {self.batchnorm!r}")
        if self.minutes <= 0 or self.max_steps < 0 or self.batch < 1 or self.lr <= 0:
            raise ConfigError("minutes, batch and lr must be positive and max_steps not negative")


@dataclass(frozen=True)
class AdaptResult:
    """What an adaptation run wrote and measured (F is the CDnet F-measure)."""

    checkpoint: Path
    card: Path
    threshold: float
    steps: int
    best_step: int  # 0: the base weights stayed best on the validation frames
    train_frames: tuple[int, ...]
    val_frames: tuple[int, ...]
    val_f_before: float  # base model at its own threshold
    val_f_after: float  # adapted model at the re-picked threshold
    heldout_f_before: float | None = None
    heldout_f_after: float | None = None
    extra: dict = field(default_factory=dict, repr=False)  # the card's "adapt" block


def pick_frames(video: CdnetVideo, n_train: int, n_val: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(training, validation) frame numbers spread evenly over the labelled training range."""
    if not (video.root / "groundtruth").is_dir():
        raise DatasetError(
            f"{video.root}: no groundtruth/ folder; adapting needs labelled frames "
            "(groundtruth/gt%06d.png with CDnet values: 0 static, 255 changed, 85/170 ignored)"
        )
    first, last = video.training_range()
    labelled = [n for n in range(first, last + 1) if video.groundtruth_path(n).exists()]
    need = n_train + n_val
    if len(labelled) < need:
        raise DatasetError(
            f"{video.root}: {len(labelled)} labelled frames in the training range {first}..{last} "
            f"(the held-out test frames {video.heldout_range()[0]}..{video.last} and the "
            f"gap before them are never used), but {need} are needed ({n_train} to train on, "
            f"{n_val} to pick the threshold); ask for fewer frames or label more"
        )
    picked = [labelled[i] for i in np.linspace(0, len(labelled) - 1, need).round().astype(int)]
    val_pos = set(np.linspace(0, need - 1, n_val + 2)[1:-1].round().astype(int).tolist())
    train = tuple(n for i, n in enumerate(picked) if i not in val_pos)
    val = tuple(n for i, n in enumerate(picked) if i in val_pos)
    return train, val


def scene_reference(video: CdnetVideo) -> tuple[np.ndarray, str]:
    """The reference the runtime pairs frames with: CDnet warm-up median, else the stream median."""
    if video.first > 1:
        return cdnet_reference(video), "cdnet"
    return stream_median(video), "median"


def _set_mode(net: ChangeNet, batchnorm: str) -> None:
    net.train()
    if batchnorm == "frozen":
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def _recipe(ckpt: dict) -> tuple[AugmentConfig, dict]:
    """The base's augmentation and loss settings (defaults where an old checkpoint lacks them)."""
    train = ckpt.get("train", {})
    known = {f.name for f in fields(AugmentConfig)}
    augment = AugmentConfig(**{k: v for k, v in train.get("augment", {}).items() if k in known})
    loss = {"kind": train.get("loss", "tcl"), "tau": train.get("tau", 0.1),
            "margin": train.get("margin", 1.0), "beta": tuple(train.get("beta", (0.5, 0.5, 0.5)))}
    return augment, loss


def fine_tune(net: ChangeNet, train: LabelledVideo, val: LabelledVideo, cfg: AdaptConfig,
              augment: AugmentConfig, loss: dict) -> tuple[int, int, float]:
    """Fine-tune ``net`` in place; leaves it in eval mode with the weights best on ``val``.

    Returns (steps run, best step, best validation F at its best threshold).
    """
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    weights = np.ones(1)
    _, best_f = threshold_curve(net, [val]).best()
    best_state, best_step = copy.deepcopy(net.state_dict()), 0
    started = time.monotonic()
    deadline = started + cfg.minutes * 60
    step, history = 0, []
    while step < cfg.max_steps and time.monotonic() < deadline:
        frac = min(1.0, max(step / max(cfg.max_steps, 1), (time.monotonic() - started) / (cfg.minutes * 60)))
        for group in opt.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + np.cos(np.pi * frac))
        ref, query, label = (torch.from_numpy(a) for a in sample_batch([train], weights, cfg.batch, rng, augment))
        _set_mode(net, cfg.batchnorm)
        sides, fused = net(ref, query)
        value = mlso_loss(sides, fused, label, **loss)
        opt.zero_grad()
        value.backward()
        opt.step()
        history.append(value.item())
        step += 1
        last = step >= cfg.max_steps or time.monotonic() >= deadline
        if step % cfg.eval_every == 0 or last:
            _, f = threshold_curve(net, [val]).best()
            log.info("step %d loss %.4f validation F %.4f (%.0f s)", step, np.mean(history[-cfg.eval_every:]),
                     f, time.monotonic() - started)
            if f > best_f:
                best_f, best_state, best_step = f, copy.deepcopy(net.state_dict()), step
    net.load_state_dict(best_state)
    net.eval()
    return step, best_step, best_f


def heldout_f(video: CdnetVideo, card: Path) -> dict[str, float]:
    """Official CDnet F, precision and recall of a model card on the video's held-out frames."""
    from ..bench.evaluate import score_video
    from ..bench.heldout import run_model
    from ..runtime.onnx_model import OnnxChangeModel

    model = OnnxChangeModel.load(card, provider="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_model(video, Path(tmp), model)
        except RuntimeError as e:
            raise StreamcdError(f"{video.key}: cannot run the model for the held-out score: {e}") from e
        m = score_video(video, tmp, video.heldout_range()).metrics
    return {"f": round(m.f_measure, 4), "precision": round(m.precision, 4), "recall": round(m.recall, 4)}


def _shadow_network(cfg: AdaptConfig) -> Path | None:
    """The shadow network the adapted card names: ``cfg.shadows``, else the base's own (the
    shipped ``export/default.pt`` has ``export/shadows.onnx`` beside it), else none."""
    if cfg.shadows is not None:
        return given_shadows(cfg.shadows)
    beside = cfg.base.parent / "shadows.onnx"
    return beside if beside.is_file() else None


def adapt(cfg: AdaptConfig) -> AdaptResult:
    """Fine-tune ``cfg.base`` on ``cfg.video``; writes checkpoint, ONNX graphs and model card."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    started = time.monotonic()
    if not cfg.base.exists():
        raise StreamcdError(f"{cfg.base}: base checkpoint not found (a checkpoint.pt written by 'streamcd train')")
    shadows = _shadow_network(cfg)
    video = CdnetVideo.open(cfg.video)
    if cfg.measure and video.first <= 1:
        raise DatasetError(f"{video.root}: measuring the held-out F follows the CDnet protocol, which "
                           "needs frames before temporalROI (temporalROI.txt) to build the background")
    out = cfg.out or Path("runs/adapt") / f"{video.category}_{video.name}"
    name = cfg.name or f"{video.name}-adapted"
    train_numbers, val_numbers = pick_frames(video, cfg.frames, cfg.val_frames)
    reference, reference_kind = scene_reference(video)
    train = load_cdnet_frames(video, train_numbers, reference)
    val = load_cdnet_frames(video, val_numbers, reference)
    if not (train.labels == 1).any():
        log.warning("%s: no changed pixels in the %d training frames; the model learns only what is static",
                    video.key, len(train_numbers))
    net, base = load_checkpoint(cfg.base)
    augment, loss = _recipe(base)

    curve = threshold_curve(net, [val])
    base_threshold = float(base["threshold"])
    f_before = curve.f_at(base_threshold)
    log.info("%s: base model F %.4f on %d validation frames (threshold %.3f)", video.key, f_before,
             len(val_numbers), base_threshold)
    tuned = time.monotonic()
    steps, best_step, _ = fine_tune(net, train, val, cfg, augment, loss)
    tune_s = time.monotonic() - tuned
    threshold, f_after = threshold_curve(net, [val]).best()
    log.info("%s: adapted F %.4f on the validation frames (threshold %.3f, best step %d of %d)",
             video.key, f_after, threshold, best_step, steps)

    info = {
        "base": str(cfg.base), "base_threshold": round(base_threshold, 4), "video": video.key,
        "video_path": str(video.root), "reference": reference_kind,
        "train_frames": list(train_numbers), "val_frames": list(val_numbers),
        "training_range": list(video.training_range()), "heldout_range": list(video.heldout_range()),
        "steps": steps, "best_step": best_step, "max_steps": cfg.max_steps, "minutes": cfg.minutes,
        "seconds": round(tune_s, 1),
        "lr": cfg.lr, "batch": cfg.batch, "batchnorm": cfg.batchnorm, "seed": cfg.seed,
        "threshold": round(threshold, 4),
        "val_f_before": round(f_before, 4), "val_f_after": round(f_after, 4),
    }
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.pt"
    torch.save({
        "net": net.cfg.as_dict(), "state_dict": net.state_dict(), "threshold": threshold,
        "validation": {"mean_f": f_after, "per_video_f": {video.key: f_after}},
        # tuned for this camera: its maps are sharp, averaging frames only blurs moving objects
        "train": {**base.get("train", {}), "temporal_mean": 1}, "adapt": info,
    }, checkpoint)
    card = export_onnx(checkpoint, out, name,
                       extra={"adapt": info, **shadows_entry(shadows, out)})

    before = after = None
    if cfg.measure:
        with tempfile.TemporaryDirectory() as tmp:
            before = heldout_f(video, export_onnx(cfg.base, Path(tmp), "base"))
        after = heldout_f(video, card)
        info.update(heldout_before=before, heldout_after=after)
        raw = json.loads(card.read_text())
        raw["adapt"] = info
        raw["metrics"] = {
            "protocol": "official CDnet 2014 rules on the held-out frames (last 35% of temporalROI, "
                        f"50-frame gap after the training frames); background init '{reference_kind}'; "
                        "threshold from the card",
            "heldout_f": {video.key: after["f"]}, "heldout_precision": {video.key: after["precision"]},
            "heldout_recall": {video.key: after["recall"]}, "base_heldout_f": {video.key: before["f"]},
        }
        card.write_text(json.dumps(raw, indent=2) + "\n")
        log.info("%s: held-out F %.4f -> %.4f", video.key, before["f"], after["f"])
    log.info("adapted %s in %.0f s: %s", video.key, time.monotonic() - started, card)
    return AdaptResult(
        checkpoint, card, threshold, steps, best_step, train_numbers, val_numbers, f_before, f_after,
        before and before["f"], after and after["f"], info,
    )
