"""Random training crops of (reference, query, label) with the augmentations the runtime needs.

- camera jitter: the reference crop is shifted by a few pixels against the query crop;
- photometric: the query gets a small global gain/bias (what a slow background update lags);
- grey: both images turned grey (UCSD and night cameras are grey);
- flips applied to all three alike;
- alternate reference: the video's reference replaced by a median of another stretch of its
  frames (``data.with_alternate_references``);
- pasted foreground: changed pixels of a frame of another video pasted onto the query (label
  set to changed there), so every background sees many kinds of objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import IGNORE, LabelledVideo


@dataclass(frozen=True)
class AugmentConfig:
    crop: int = 144
    jitter_px: int = 6
    jitter_prob: float = 0.5
    photometric_prob: float = 0.5
    gain: float = 0.12
    bias: float = 12.0
    grey_prob: float = 0.15
    paste_prob: float = 0.3
    alternate_prob: float = 0.0  # pair with one of the video's alternate references instead


def _grey(img: np.ndarray) -> np.ndarray:
    g = (img.astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)).round()
    return np.repeat(g.clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)


def sample_pair(video: LabelledVideo, rng: np.random.Generator, cfg: AugmentConfig):
    """One random (reference, query, label) crop; label is at full crop resolution."""
    i = rng.integers(len(video.frames))
    query, label = video.frames[i], video.labels[i]
    h, w = label.shape
    c = min(cfg.crop, h - 2 * cfg.jitter_px, w - 2 * cfg.jitter_px) // 8 * 8
    j = cfg.jitter_px
    y = rng.integers(j, h - c - j + 1)
    x = rng.integers(j, w - c - j + 1)
    dy = dx = 0
    if rng.random() < cfg.jitter_prob:
        dy, dx = rng.integers(-j, j + 1, size=2)
    reference = video.reference
    if video.alternates is not None and rng.random() < cfg.alternate_prob:
        reference = video.alternates[rng.integers(len(video.alternates))]
    ref = reference[y + dy : y + dy + c, x + dx : x + dx + c]
    q = query[y : y + c, x : x + c]
    lab = label[y : y + c, x : x + c]
    if rng.random() < cfg.photometric_prob:
        g = 1.0 + rng.uniform(-cfg.gain, cfg.gain)
        b = rng.uniform(-cfg.bias, cfg.bias)
        q = (q.astype(np.float32) * g + b).clip(0, 255).astype(np.uint8)
    if rng.random() < cfg.grey_prob:
        ref, q = _grey(ref), _grey(q)
    if rng.random() < 0.5:
        ref, q, lab = ref[:, ::-1], q[:, ::-1], lab[:, ::-1]
    return np.ascontiguousarray(ref), np.ascontiguousarray(q), np.ascontiguousarray(lab)


def sample_batch(videos: list[LabelledVideo], weights: np.ndarray, size: int,
                 rng: np.random.Generator, cfg: AugmentConfig):
    """A batch of crops of one common size; videos drawn with probability ``weights``."""
    refs, queries, labels = [], [], []
    crop = min(min(v.labels.shape[1:]) - 2 * cfg.jitter_px for v in videos) // 8 * 8
    crop = min(crop, cfg.crop)
    cfg = AugmentConfig(**{**cfg.__dict__, "crop": crop})
    for k in rng.choice(len(videos), size=size, p=weights):
        r, q, lab = sample_pair(videos[k], rng, cfg)
        if len(videos) > 1 and rng.random() < cfg.paste_prob:
            q, lab = paste_foreground(q, lab, videos[(k + rng.integers(1, len(videos))) % len(videos)], rng)
        refs.append(r)
        queries.append(q)
        labels.append(lab[::2, ::2])  # the fused distance map lives at stride 2
    return np.stack(refs), np.stack(queries), np.stack(labels)


def paste_foreground(query: np.ndarray, label: np.ndarray, donor: LabelledVideo,
                     rng: np.random.Generator, tries: int = 4):
    """Paste the changed pixels of a random crop of ``donor`` onto ``query`` (label -> changed)."""
    c = query.shape[0]
    h, w = donor.labels.shape[1:]
    if h < c or w < c:
        return query, label
    for _ in range(tries):
        i = rng.integers(len(donor.frames))
        y, x = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
        fg = donor.labels[i, y : y + c, x : x + c] == 1
        if fg.mean() > 0.01:
            query = query.copy()
            label = label.copy()
            query[fg] = donor.frames[i, y : y + c, x : x + c][fg]
            label[fg] = 1
            return query, label
    return query, label


__all__ = ["IGNORE", "AugmentConfig", "sample_batch", "sample_pair"]
