"""``streamcd train``: fit the change network on CDnet (+ UCSD) pairs, pick the threshold on
validation frames, and save a checkpoint that ``streamcd export`` turns into ONNX."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from ..config import BANK_THRESHOLD
from .augment import AugmentConfig, sample_batch
from .data import cdnet_train_val, load_ucsd, with_alternate_references
from .loss import mlso_loss
from .net import ChangeNet, NetConfig
from .validate import threshold_curve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint and the model card)."""

    data: Path = Path("../shared/data")
    out: Path = Path("runs/default")
    minutes: float = 60.0
    max_steps: int = 6000
    batch: int = 12
    lr: float = 2e-3
    loss: str = "tcl"
    tau: float = 0.1
    margin: float = 1.0
    beta: tuple[float, ...] = (0.5, 0.5, 0.5)
    ucsd_weight: float = 0.3  # share of batches drawn from UCSD clips (0 = CDnet only)
    # Median of the training pairs' references (and the card threshold's validation frames):
    # "all", the plain median, trains on references with more leftovers of objects than the
    # run-time default "still" makes, which measured better on unseen cameras (docs/experiments.md).
    reference_median: str = "all"
    exclude: tuple[str, ...] = ()  # videos left out entirely (leave-one-video-out)
    # The card's postprocess.temporal_mean (what a pipeline that leaves it unset uses): 2 averages
    # two frames' distance maps, better on new cameras, worse on the ones trained on (docs/experiments.md).
    temporal_mean: int = 1
    # The card's bank_threshold: the base threshold of the feature bank (background.model: bank),
    # the same for every camera (docs/background-model.md).
    bank_threshold: float = BANK_THRESHOLD
    backbone_lr_scale: float = 0.3  # lr factor of a pretrained trunk
    seed: int = 0
    threads: int | None = None
    device: str = "cpu"
    net: NetConfig = field(default_factory=NetConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    @classmethod
    def from_record(cls, record: dict) -> TrainConfig:
        """The config a checkpoint's ``train`` entry was written from (fields it lacks, from
        older versions, take today's defaults; run results such as ``steps`` are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in names}
        for key in ("data", "out"):
            if key in values:
                values[key] = Path(values[key])
        if "net" in values:
            values["net"] = NetConfig(**{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in values["net"].items()})
        if "augment" in values:
            values["augment"] = AugmentConfig(**values["augment"])
        return cls(**values)


def _weights(videos, ucsd_weight: float) -> np.ndarray:
    is_ucsd = np.array([v.name.startswith("ucsd/") for v in videos])
    w = np.where(is_ucsd, ucsd_weight / max(is_ucsd.sum(), 1), (1 - ucsd_weight) / max((~is_ucsd).sum(), 1))
    return w / w.sum()


@dataclass
class FittedNetwork:
    """A trained network (CPU, eval mode) with the card threshold picked on its validation frames."""

    net: ChangeNet
    threshold: float
    validation_f: float
    per_video_f: dict[str, float]
    steps: int
    seconds: float
    final_loss: float | None


def train(cfg: TrainConfig) -> Path:
    """Run training; returns the checkpoint path (``cfg.out / 'checkpoint.pt'``)."""
    fitted = fit_network(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    path = cfg.out / "checkpoint.pt"
    torch.save({
        "net": cfg.net.as_dict(),
        "state_dict": fitted.net.state_dict(),
        "threshold": fitted.threshold,
        "validation": {"mean_f": fitted.validation_f, "per_video_f": fitted.per_video_f},
        "train": {**_jsonable(asdict(cfg)), "steps": fitted.steps, "seconds": round(fitted.seconds, 1),
                  "final_loss": fitted.final_loss},
    }, path)
    (cfg.out / "train_summary.json").write_text(json.dumps(torch.load(path, weights_only=False)["train"], indent=2))
    return path


def fit_network(cfg: TrainConfig) -> FittedNetwork:
    """Train the network of ``cfg`` and pick its card threshold on the validation frames."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.monotonic()
    method = cfg.reference_median
    train_videos, val_videos = cdnet_train_val(cfg.data / "cdnet2014", exclude=cfg.exclude, method=method)
    if cfg.ucsd_weight > 0 and (cfg.data / "ucsd").is_dir():
        train_videos += load_ucsd(cfg.data / "ucsd", exclude=cfg.exclude, method=method)
    if not train_videos or not val_videos:
        raise ValueError("training needs at least one CDnet video that is not excluded")
    if cfg.augment.alternate_prob > 0:
        train_videos = [with_alternate_references(v, rng, method=method) for v in train_videos]
    weights = _weights(train_videos, cfg.ucsd_weight)
    log.info("loaded %d training videos in %.0f s", len(train_videos), time.monotonic() - started)

    device = torch.device(cfg.device)
    pretrained = cfg.net.encoder != "scratch"
    net = ChangeNet(cfg.net, pretrained=pretrained).to(device)
    trunk = list(net.encoder.trunk.parameters())
    trunk_ids = {id(p) for p in trunk}
    rest = [p for p in net.parameters() if id(p) not in trunk_ids]
    scale = cfg.backbone_lr_scale if pretrained else 1.0
    opt = torch.optim.AdamW([{"params": trunk, "scale": scale}, {"params": rest, "scale": 1.0}],
                            lr=cfg.lr, weight_decay=1e-4)
    deadline = started + cfg.minutes * 60
    history = []
    step = 0
    while step < cfg.max_steps and time.monotonic() < deadline:
        frac = min(1.0, max(step / cfg.max_steps, (time.monotonic() - started) / (cfg.minutes * 60)))
        for group in opt.param_groups:
            group["lr"] = group["scale"] * cfg.lr * 0.5 * (1 + np.cos(np.pi * frac))
        ref, query, label = (torch.from_numpy(a).to(device) for a in sample_batch(
            train_videos, weights, cfg.batch, rng, cfg.augment))
        net.train()
        sides, fused = net(ref, query)
        loss = mlso_loss(sides, fused, label, kind=cfg.loss, tau=cfg.tau, margin=cfg.margin, beta=cfg.beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
        step += 1
        if step % 100 == 0:
            log.info("step %d loss %.4f (%.0f s)", step, np.mean(history[-100:]), time.monotonic() - started)
    train_s = time.monotonic() - started

    net = net.cpu().eval()
    curve = threshold_curve(net, val_videos)
    threshold, val_f = curve.best()
    per_video = dict(zip(curve.names, curve.f_measure()[:, int(np.searchsorted(curve.thresholds, threshold))]))
    log.info("validation: threshold %.3f, mean F %.3f %s", threshold, val_f, per_video)
    return FittedNetwork(net, threshold, val_f, {k: float(v) for k, v in per_video.items()}, step, train_s,
                         float(np.mean(history[-100:])) if history else None)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
