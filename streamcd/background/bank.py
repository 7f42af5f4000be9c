"""An adaptive background model in feature space: per pixel, a bank of reference features.

Instead of one reference image, every position of every side output keeps ``samples`` feature
vectors of its background, taken at different times (ViBe's sample model, on the change
network's embeddings instead of colours), and beside side 0 the pixel's colour in the same
frames. A frame is compared with each sample by the model's own head; the decision distance of
a pixel is the ``matches``-th smallest of those distances, so a pixel is background when at
least ``matches`` samples look like it (waving leaves, water and flicker leave several looks).

Per pixel feedback, in the spirit of SuBSENSE: a running mean of the pixel's decision distance
(seeded with its smallest over the first frames, then learnt where it is background, each
distance counted at most as ``base``) says how much its own background moves; its threshold is
``max(base, dynamic_factor x mean)``, never above ``dynamic_factor x base``. A pixel whose mask
blinks (flips between foreground and background from frame to frame, as the edges of a shaking
camera's view do) also learns while foreground, in proportion to how often it blinks: a
background that moves so much it is foreground half the time still raises its threshold.
Quiet pixels keep the low base threshold, dynamic ones get a higher one. The map handed on is
the distance scaled so that ``base`` is every pixel's threshold (``d x base / threshold``).
Exposure: before it is encoded, a frame's brightness is matched to the bank's picture (one gain
per colour channel), so clouds and auto-exposure change nothing the features see.
Camera shake: a frame shifted against the bank's picture by a grid cell or more is moved back
before it is encoded (phase correlation, :mod:`.align`), and its change map moved onto the frame.
Colour gate: a pixel whose colour matches ``matches`` colour samples scores 0 (the features'
receptive field spreads a change a few pixels around an object; the colours take that halo off).
A sample's colour also matches when the frame's is the same colour in soft shade: at least
``shade`` times as bright, no brighter, same chromaticity (a person's soft shadow on a wall),
where the sample has a hue or where the light changed smoothly (frame / bank picture brightness
nearly uniform around the pixel: a shadow dims what is behind it evenly, an object brings its
own texture).

Update, conservative and random, only where the mask says background *and* the features alone
do too (the gate clears the mask, it never teaches the bank); the running mean learns there
(and where foreground, weighted by how often the pixel blinks).
Within ``NEAR_FOREGROUND`` cells of foreground the samples take only looks within the base (a
raised threshold must not let the bank learn the edge of an object it half misses). Each
position replaces one random sample (features and colour) with the frame's with probability
``1 / subsample``, and with the same probability writes them into a random sample of a random
8-neighbour (spatial diffusion: a ghost left by an object that was in the first frames is eaten
from its border). Ghosts: a foreground blob whose outline is an edge of the bank's picture
(median colours) rather than of the frame shows something the bank remembers and the scene no
longer has (an object present in the first frames that left); its pixels replace one of their
own samples with probability ``1 / GHOST_UPDATE`` and it is background again within a few frames. An object that
arrives, moving or still, has its outline in the frame and is never learnt this way (diffusion
in feature space alone is slow: features shifted by a pixel or two no longer match). With
``still_update > 0``, foreground whose colour has not changed for
``STILL_FRAMES`` frames in a row also enters, with probability ``1 / still_update`` (ghosts and
stopped objects are absorbed; people who stand still too, hence off by default).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..runtime.bank_compare import quantised
from ..runtime.base import Features
from ..runtime.geometry import to_model_input
from .align import Shift, ShiftFinder, shifted

if TYPE_CHECKING:
    from .shadows import ShadowGate

#: Per side a (samples, channels, h, w) array; side 0 has the distance map's grid. Stored as
#: float32, float16, or int8 holding the (unit-length) features times ``INT8_SCALE``.
Samples = tuple[np.ndarray, ...]
#: The model head on host arrays: (bank samples as stored, one frame's features) ->
#: (samples, h0, w0); see :class:`~streamcd.runtime.bank_compare.BankComparer`.
Compare = Callable[[Samples, Features], np.ndarray]

#: Soft shade: the frame's chromaticity (B, G, R over their sum) within this L1 distance of the
#: sample's, and only where the sample's is further than this from grey (a grey object darker
#: than a grey background would pass for its shade) or where the light changed smoothly ...
SHADE_CHROMA = 0.03
#: ... and only over samples at least this bright (B + G + R): dark colours have no hue to keep.
SHADE_DARKEST = 60
#: The light changed smoothly at a pixel when the ratio of the frame's brightness to the bank
#: picture's varies by less than this (standard deviation) over the SHADE_WINDOW x SHADE_WINDOW
#: cells around it: soft shade on a grey wall or pavement dims it evenly; a grey object that
#: differs from the background has texture of its own.
SHADE_SMOOTH = 0.05
SHADE_WINDOW = 5

#: A pixel whose |B|+|G|+|R| change since the previous frame is at most this has not changed.
STILL = 30
#: Foreground unchanged for this many frames in a row counts as stopped (a ghost, a parked car):
#: a person who stands and reads still moves now and then (100 frames absorbed one in CDnet's
#: baseline/office: F 0.83 -> 0.74; 250: 0.83).
STILL_FRAMES = 250

#: A foreground blob is a ghost when the gradient along its outline, summed, is this many times
#: larger in the bank's picture (median colours) than in the frame (the edge belongs to what has
#: left).
GHOST_RATIO = 1.5
#: A ghost's pixels replace one of their own samples with probability 1 / GHOST_UPDATE per frame:
#: with ``matches`` 2, a ghost is background again after about 2 x GHOST_UPDATE frames.
GHOST_UPDATE = 2
#: ``score(gate_above=...)`` compares colours within this many cells of a pixel above it.
GATE_REACH = 2
#: Within this many grid cells of foreground, only looks within the base enter the samples.
NEAR_FOREGROUND = 4
#: What is made of the bank's picture (slow to change: its edges for the ghost test, its colours
#: for exposure matching) is recomputed every this many frames.
PICTURE_EVERY = 8
#: Exposure: a frame is rescaled when one channel's gain to the bank's picture is off by more.
EXPOSURE_TOLERANCE = 0.03
#: Exposure: only cells whose channels all lie in this range, in frame and picture, count (no
#: clipped highlights, no black) ...
WELL_EXPOSED = (16, 249)
#: ... and of those every this-th row and column (the median of a few thousand is enough).
EXPOSURE_STEP = 2

_NEIGHBOURS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])


@dataclass(frozen=True)
class BankSettings:
    """The bank's fixed parameters (``background.bank`` in the pipeline YAML)."""

    samples: int = 8
    matches: int = 2
    subsample: int = 16
    dynamic_factor: float = 2.0
    mean_frames: int = 100  # the running mean's rate is 1 / mean_frames
    still_update: int = 0  # 0 = off; else stopped foreground enters a sample with probability 1/still_update
    colour_threshold: int = 30  # sum over B, G, R of |frame - sample| a colour sample matches within
    shade: float = 0.8  # a colour sample also matches its own colour down to this brightness (1 = off)
    ghosts: bool = True  # foreground whose outline is an edge of the bank, not of the frame, enters fast
    exposure: bool = True  # frames' brightness matched to the bank's picture before comparing
    align: bool = True  # frames shifted by a cell or more (camera shake) moved onto the bank's picture
    shadows: bool = True  # the model card's shadow network clears hard cast shadows (when it has one)


class FeatureBank:
    """Per-pixel reference features of one stream at one input size; see the module docstring.

    Example::

        bank = FeatureBank.from_frames([model.encode(f) for f in first_frames], BankSettings(),
                                       base=0.4, seed=0, images=first_frames)
        for image in frames:
            dist = bank.score(model.encode(image), model.compare_bank, image)  # (H/2, W/2)
            bank.update(dist <= bank.base)            # the mask's background (after clean-up)
    """

    def __init__(self, samples: Samples, settings: BankSettings, base: float,
                 mean: np.ndarray | None = None, frames: int = 0, seed: int | None = None,
                 colours: np.ndarray | None = None, blink: np.ndarray | None = None):
        if len(samples) == 0 or any(s.ndim != 4 or s.shape[0] != settings.samples for s in samples):
            raise ValueError(f"samples must be per side (samples={settings.samples}, C, h, w) arrays, "
                             f"got {[s.shape for s in samples]}")
        if not 1 <= settings.matches <= settings.samples:
            raise ValueError(f"matches {settings.matches} must be in 1..samples ({settings.samples})")
        self.samples = samples
        self.settings = settings
        self.base = float(base)
        grid = samples[0].shape[2:]
        self.mean = np.zeros(grid, np.float32) if mean is None else mean.astype(np.float32)
        if self.mean.shape != grid:
            raise ValueError(f"mean map is {self.mean.shape}, the bank's grid is {grid}")
        #: per pixel, the running rate of mask flips per frame (0: steady, 1: flips every frame)
        self.blink = np.zeros(grid, np.float32) if blink is None else blink.astype(np.float32)
        if self.blink.shape != grid:
            raise ValueError(f"blink map is {self.blink.shape}, the bank's grid is {grid}")
        if colours is not None and colours.shape != (settings.samples, *grid, 3):
            raise ValueError(f"colour samples are {colours.shape}, expected "
                             f"{(settings.samples, *grid, 3)}")
        #: (samples, h, w, 3) uint8 BGR looks kept beside side 0's features (same positions).
        self.colours = colours
        self.frames = frames
        self._rng = np.random.default_rng(seed)
        self._image: np.ndarray | None = None  # the frame score() saw last, at the grid's size
        self._query: Features | None = None
        self._last: np.ndarray | None = None  # the decision distances score() saw last
        self._quiet: np.ndarray | None = None  # where those distances alone say background
        self._still: np.ndarray | None = None  # pixels unchanged for STILL_FRAMES frames
        self._still_frames = np.zeros(grid, np.uint16)  # frames each pixel has not changed
        self._foreground: np.ndarray | None = None  # the mask update() saw last, for blinks
        self._bank_edges: np.ndarray | None = None  # edges of the bank's picture, for ghosts
        self._exposure_picture: tuple[np.ndarray, np.ndarray] | None = None  # for match_exposure
        self._picture_brightness: np.ndarray | None = None  # B + G + R of the picture, for shade
        self._shadow_background: np.ndarray | None = None  # the picture, for the shadow network
        self._scored_picture: tuple[int, np.ndarray] | None = None  # (frames, picture) after score
        self._shift_finder: ShiftFinder | None = None  # the bank's picture, for align

    @classmethod
    def from_frames(cls, features: Sequence[Features], settings: BankSettings, base: float,
                    center: Features | None = None, seed: int | None = None,
                    dtype=np.float32, images: Sequence[np.ndarray] | None = None,
                    center_image: np.ndarray | None = None) -> FeatureBank:
        """A bank whose samples come from frames taken at different times.

        With ``center`` (the features of the frames' median), each position keeps the
        ``samples`` frames whose features there are nearest the median's: an object that passes
        through fewer than half of the frames stays out of the bank. Fewer frames than
        ``samples``: every frame once, the rest of the samples the median's (``center_image``
        its picture, needed with ``images``); a frame taken twice would match itself twice, so
        a stream of a few frames, scored against a bank of those frames, would show nothing.
        Without ``center``, a random choice per position, frames reused when too few.
        ``images``: the frames themselves (BGR, any size); their colours at side 0's positions
        become the colour samples. ``dtype`` np.int8 stores unit-length features times
        ``INT8_SCALE`` (a quarter of float32's memory).
        """
        if not features:
            raise ValueError("a feature bank needs at least one frame's features")
        rng = np.random.default_rng(seed)
        n = settings.samples
        if center is not None and len(features) < n:
            if images is not None and center_image is None:
                raise ValueError("fewer frames than samples: give center_image with images")
            features = [*features, *[center] * (n - len(features))]
            if images is not None:
                images = [*images, *[center_image] * (n - len(images))]
        samples = []
        for side in range(len(features[0])):
            stack = np.concatenate([f[side] for f in features], axis=0)  # (M, C, h, w)
            m, _, h, w = stack.shape
            rank = rng.random((m, h, w))
            if center is not None:  # nearest first; the random part only breaks ties
                rank = 1e-3 * rank + np.sqrt(((stack - center[side]) ** 2).sum(axis=1))
            order = np.argsort(rank, axis=0)[np.arange(n) % m]  # (n, h, w)
            picked = np.take_along_axis(stack, order[:, None], axis=0)
            samples.append(quantised(picked) if dtype == np.int8
                           else np.ascontiguousarray(picked, dtype=dtype))
            if side == 0:
                first_order = order
        colours = None
        if images is not None:
            h, w = samples[0].shape[2:]
            small = np.stack([to_model_input(image, (w, h)) for image in images])  # (M, h, w, 3)
            colours = np.take_along_axis(small, first_order[..., None], axis=0)
        return cls(tuple(samples), settings, base, seed=int(rng.integers(2**31)), colours=colours)

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w) of the distance map the bank scores."""
        return self.samples[0].shape[2], self.samples[0].shape[3]

    @property
    def nbytes(self) -> int:
        colours = 0 if self.colours is None else self.colours.nbytes
        return sum(s.nbytes for s in self.samples) + self.mean.nbytes + self.blink.nbytes + colours

    def picture(self) -> np.ndarray | None:
        """What the bank holds as background: the per-pixel median of its colour samples
        (BGR uint8 on the bank's grid), None without colours. A new array on every call."""
        if self.colours is None:
            return None
        return _median_uint8(self.colours)

    def match_exposure(self, image: np.ndarray) -> np.ndarray:
        """``image`` (BGR uint8, the model's input) with its brightness matched to the bank's
        picture: per channel, the gain is the median over well-exposed cells of picture / frame
        (objects covering less than half the view do not move it). A clouded sun, dusk or a
        camera's auto-exposure then changes nothing the features see, and the bank goes on
        learning frames at its own exposure. ``image`` itself when the gains are within
        ``EXPOSURE_TOLERANCE`` of 1, when too few cells are well exposed, without colour
        samples, or with ``exposure: false``."""
        if not self.settings.exposure or self.colours is None:
            return image
        low, high = WELL_EXPOSED
        if self._exposure_picture is None or self.frames % PICTURE_EVERY == 0:
            picture = _median_float32(self.colours[:, ::EXPOSURE_STEP, ::EXPOSURE_STEP])
            # B, G, R planes (3, cells): the frame's usable cells are picked from each at once
            self._exposure_picture = (np.ascontiguousarray(picture.reshape(-1, 3).T),
                                      cv2.inRange(picture, (low,) * 3, (high,) * 3) > 0)
        picture, usable = self._exposure_picture
        h, w = self.grid
        frame = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)[::EXPOSURE_STEP, ::EXPOSURE_STEP]
        cells = np.flatnonzero(usable & (cv2.inRange(frame, (low,) * 3, (high,) * 3) > 0))
        if cells.size < 0.1 * usable.size:
            return image
        ratio = picture[:, cells] / frame.reshape(-1, 3)[cells].T.astype(np.float32)
        gain = _row_medians(ratio)  # (3,) B, G, R
        if np.all(np.abs(gain - 1) <= EXPOSURE_TOLERANCE):
            return image
        # rounded, not truncated (OpenCV rounds and saturates): the bank learns these frames, and
        # a bias would drift its picture
        return _scaled(image, gain)

    def align(self, image: np.ndarray) -> tuple[np.ndarray, Shift]:
        """``image`` (BGR uint8, the model's input) moved onto the bank's picture when the
        camera has shaken by a grid cell or more, and the shift taken off (map the change back
        with it: :func:`~streamcd.background.align.shifted`). ``image`` and ``Shift()`` when it
        has not, without colour samples, or with ``align: false``."""
        if not self.settings.align or self.colours is None:
            return image, Shift()
        if self._shift_finder is None or self.frames % PICTURE_EVERY == 0:
            self._shift_finder = ShiftFinder(self.picture(), min_shift=1.0)  # on the grid: 1 cell
        shift = self._shift_finder.find(image)
        return (shifted(image, -shift), shift) if shift else (image, shift)

    def fits(self, query: Features) -> bool:
        """Whether ``query`` has this bank's side shapes (same model and input size)."""
        return len(query) == len(self.samples) and all(
            q.shape[1:] == s.shape[1:] for q, s in zip(query, self.samples))

    def threshold(self) -> np.ndarray:
        """Per-pixel decision threshold, ``max(base, dynamic_factor x running mean)``."""
        return np.maximum(self.base, self.settings.dynamic_factor * self.mean)

    def score(self, query: Features, compare: Compare, image: np.ndarray | None = None,
              gate_above: float = 0.0, shadows: ShadowGate | None = None) -> np.ndarray:
        """The frame's change map on the bank's grid, scaled so that ``base`` is the threshold.

        With colour samples and the frame ``image`` (BGR, any size), pixels whose colour still
        matches ``matches`` colour samples score 0: the features say where something changed,
        the colours keep the mask off the background around it (the features' receptive field
        spreads a change a few pixels out) and off shadows. ``gate_above`` > 0: the colours are
        compared only within ``GATE_REACH`` cells of a pixel scoring above it; a caller whose
        lowest threshold is ``gate_above`` gets the same map everywhere that can cross a
        threshold (a map scaled up bilinearly, or moved by a fraction of a cell, mixes at most
        the 2 cells around each pixel) at a fraction of the cost. ``shadows``: the shadow
        network then clears hard cast shadows among the pixels still above ``gate_above``
        (:mod:`streamcd.background.shadows`). Remembers ``query``, the image and the distances
        for ``update``.
        """
        self.frames += 1
        previous, self._image = self._image, None if image is None else to_model_input(image, self.grid[::-1])
        if not (self.settings.shadows and self._image is not None and self.colours is not None):
            shadows = None
        # the shadow network runs on another core while the features are compared
        verdict = None if shadows is None else shadows.start(self._image, self._shadow_picture())
        decision = self._decision(compare(self.samples, query))
        self._query, self._last = query, decision
        scaled = decision * (self.base / self.threshold())
        self._quiet = scaled <= self.base  # background by the features alone
        self._still = None
        if self._image is None:
            return scaled
        if self.settings.still_update and previous is not None:
            unchanged = _colour_distance(previous, self._image) <= STILL
            self._still_frames = np.where(unchanged, self._still_frames + 1, 0).astype(np.uint16)
            self._still = self._still_frames >= STILL_FRAMES
        if self.colours is not None:
            self._colour_gate(scaled, gate_above)
            if shadows is not None:
                shadows.clear(scaled, self._image, self._shadow_picture(), gate_above, verdict)
        return scaled

    def _colour_gate(self, scaled: np.ndarray, gate_above: float) -> None:
        """Zero ``scaled`` where the frame's colour matches ``matches`` colour samples (plain or
        in soft shade), everywhere or near pixels above ``gate_above``."""
        n = self.settings.samples
        colours = self.colours.reshape(n, -1, 1, 3)  # (samples, pixels, 1, 3): OpenCV sees BGR
        image = self._image.reshape(-1, 1, 3)
        where = None
        if gate_above > 0:
            near_change = cv2.dilate(cv2.compare(scaled, gate_above, cv2.CMP_GT), _GATE_REACH)
            where = np.flatnonzero(near_change)
            if not where.size:
                return
            colours, image = np.take(colours, where, axis=1), image[where]
        near = np.stack([_colour_distance(sample, image)[:, 0] <= self.settings.colour_threshold
                         for sample in colours])  # (samples, pixels)
        matched = near.sum(axis=0, dtype=np.uint8)
        if self.settings.shade < 1:  # only where the colours alone did not match
            smooth = self._smooth_light().reshape(-1)
            self._add_shade(matched, near, colours[:, :, 0], image[:, 0],
                            smooth if where is None else smooth[where])
        gated = matched >= self.settings.matches
        scaled.reshape(-1)[gated if where is None else where[gated]] = 0.0

    def _picture_since_score(self) -> np.ndarray:
        """The bank's picture as it is after the last ``score`` (the colours change only in
        ``update``, after the shade and ghost tests read it): made once for both."""
        if self._scored_picture is None or self._scored_picture[0] != self.frames:
            self._scored_picture = self.frames, self.picture()
        return self._scored_picture[1]

    def _shadow_picture(self) -> np.ndarray:
        """The bank's picture for the shadow network, made again every ``PICTURE_EVERY`` frames."""
        if self._shadow_background is None or self.frames % PICTURE_EVERY == 0:
            self._shadow_background = self._picture_since_score()
        return self._shadow_background

    def _smooth_light(self) -> np.ndarray:
        """HxW bool: where the light changed smoothly between the bank's picture and the frame
        ``score`` saw last (the ratio of their brightness nearly uniform around the pixel)."""
        if self._picture_brightness is None or self.frames % PICTURE_EVERY == 0:
            self._picture_brightness = np.maximum(
                brightness(self._picture_since_score()).astype(np.float32), 1.0)
        ratio = brightness(self._image) / self._picture_brightness
        window = (SHADE_WINDOW, SHADE_WINDOW)
        mean = cv2.blur(ratio, window)
        variance = cv2.blur(ratio * ratio, window) - mean * mean
        return variance < np.float32(SHADE_SMOOTH**2)

    def _add_shade(self, matched: np.ndarray, near: np.ndarray, colours: np.ndarray,
                   image: np.ndarray, smooth: np.ndarray | None = None) -> None:
        """Count into ``matched`` (per pixel) the samples ``colours`` ((samples, pixels, 3)) that
        the frame's colours ``image`` ((pixels, 3)) show in soft shade, at the pixels ``matched``
        leaves unmatched (one sample counts once: ``near`` says which already did). ``smooth``
        (per pixel): where the light changed smoothly, grey samples may be in shade too."""
        todo = np.flatnonzero(matched < self.settings.matches)
        if not todo.size:
            return
        shading = _Shading(image[todo], self.settings.shade, None if smooth is None else smooth[todo])
        # np.take on an axis: a third of the time of fancy indexing
        shaded = shading.of(np.take(colours, todo, axis=1))  # (samples, todo)
        shaded &= ~np.take(near, todo, axis=1)
        matched[todo] += shaded.sum(axis=0, dtype=np.uint8)

    def _ghosts(self, foreground: np.ndarray, image: np.ndarray) -> np.ndarray | None:
        """Foreground blobs (HxW bool on the grid) whose outline is an edge of what the bank
        holds rather than of the frame: something the bank remembers has left (a ghost). An
        object that arrived has its outline in the frame. None when there is none."""
        mask = foreground.astype(np.uint8)
        count, labels = cv2.connectedComponents(mask, connectivity=8)
        if count <= 1:
            return None
        outline = (mask - cv2.erode(mask, _CROSS)).astype(bool)
        now = _edges(image)[outline]
        if self._bank_edges is None or self.frames % PICTURE_EVERY == 0:
            self._bank_edges = _edges(self._picture_since_score())
        then = self._bank_edges[outline]
        ids = labels[outline]
        now_sum = np.bincount(ids, now, minlength=count)
        then_sum = np.bincount(ids, then, minlength=count)
        ghost = then_sum > GHOST_RATIO * now_sum
        ghost[0] = False
        if not ghost.any():
            return None
        return ghost[labels]

    def seed_mean(self, features: Sequence[Features], compare: Compare) -> None:
        """Start the running mean at the smallest decision distance of ``features`` (the frames
        the bank was made of), counted at most as the base like every distance the mean learns
        later. Each frame matches its own sample, so its ``matches``-th distance is how far the
        pixel's other looks are. Only a background that moves in every one of the first frames
        (swaying, a shaking camera) starts with a raised threshold; something in front of it
        that is still now and then (a person reading, fidgeting) starts quiet, and is not taken
        for moving background (the median of those distances was: a reader was missed for
        hundreds of frames)."""
        smallest = np.full(self.grid, self.base, np.float32)  # a running minimum: no stack of frames
        for f in features:
            np.minimum(smallest, self._decision(compare(self.samples, f)), out=smallest)
        self.mean = smallest

    def _decision(self, distances: np.ndarray) -> np.ndarray:
        """The ``matches``-th smallest of (samples, h, w) distances, per pixel."""
        k = self.settings.matches - 1
        if distances.shape[0] == 1 or k == 0:
            return distances.min(axis=0)
        if k == 1:  # the common case: two running minima over contiguous planes beat a partition
            first, second = np.minimum(distances[0], distances[1]), np.maximum(distances[0], distances[1])
            for plane in distances[2:]:
                np.minimum(second, np.maximum(first, plane), out=second)
                np.minimum(first, plane, out=first)
            return second
        return np.partition(distances, k, axis=0)[k]

    def update(self, background: np.ndarray, query: Features | None = None) -> None:
        """Conservative random update where ``background`` (HxW bool, any size) is True.

        A mask larger than the grid counts a cell as background only when all of it is.
        ``query``: the frame's features; default the ones ``score`` saw last.
        """
        query = self._query if query is None else query
        if query is None:
            raise ValueError("update needs the frame's features: call score() first or pass query")
        if background.ndim != 2:
            raise ValueError(f"background mask must be HxW, got shape {background.shape}")
        if background.shape != self.grid:
            h, w = self.grid
            area = cv2.resize(background.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA)
            background = area == 255
        current = query is self._query
        foreground = ~background  # the mask's, before the features' veto below
        if current and self._quiet is not None:
            # the colour gate only clears the mask: what the features call changed neither
            # enters the samples nor the running mean (else a colour look-alike would teach the
            # bank the object, and raise the threshold around it, frame after frame)
            background = background & self._quiet
        image = self._image if current else None
        mean_rate = np.float32(1 / self.settings.mean_frames)
        if current:
            if self._foreground is not None:
                self.blink += ((foreground != self._foreground) - self.blink) * mean_rate
            self._foreground = foreground
        if self._last is not None and current:
            # the pixel's own background motion, learnt where it is background; a distance above
            # the base counts as the base. Without that bound, an object missed under a raised
            # threshold teaches its own distance, which raises the threshold further (a person
            # standing still faded out of the mask); now learning keeps the threshold under
            # dynamic_factor x base. Foreground teaches it too, as much as the pixel blinks
            # (twice the flip rate: a pixel that is foreground at random half the time flips
            # every other frame and learns as if background): a camera that shakes from the
            # first frame has its edges foreground too often to learn otherwise, while an object
            # that comes and stays flips twice and teaches next to nothing
            weight = np.where(background, np.float32(1), np.minimum(np.float32(1), 2 * self.blink))
            learnt = np.minimum(self._last, np.float32(self.base))
            self.mean += (learnt - self.mean) * (weight * mean_rate)
            # next to foreground, a look beyond the base is more likely a part of the object
            # than the background's own motion (a boat's edge on waves, a person's arm): it does
            # not enter the samples there, or a raised threshold lets the bank learn the object
            near = cv2.dilate(foreground.astype(np.uint8), _NEAR).astype(bool)
            background = background & ~(near & (self._last > self.base))
        # per grid cell: the chance to enter the bank this frame (0 for moving foreground)
        rate = background * np.float32(1 / self.settings.subsample)
        if current and self._still is not None:  # unchanged foreground: a ghost or a stopped object
            rate[self._still & ~background] = 1 / self.settings.still_update
        own_rate = rate
        if current and self.settings.ghosts and image is not None and self.colours is not None:
            ghost = self._ghosts(foreground, image)
            if ghost is not None:  # enters its own samples only: no diffusion
                own_rate = rate.copy()
                own_rate[ghost] = 1 / GHOST_UPDATE
        rng, n = self._rng, self.settings.samples
        cell_rate, cell_own = rate, own_rate
        for side, (bank, q) in enumerate(zip(self.samples, query)):
            h, w = bank.shape[2:]
            cell_rate, cell_own = _pool_min(cell_rate, h, w), _pool_min(cell_own, h, w)
            # flat views: one index per cell is cheaper than (y, x) pairs
            flat, values = bank.reshape(n, bank.shape[1], h * w), q[0].reshape(q.shape[1], h * w)
            colours = None  # (samples, h*w, 3) and the frame's (h*w, 3): side 0 only
            if side == 0 and image is not None and self.colours is not None:
                colours = self.colours.reshape(n, h * w, 3), image.reshape(h * w, 3)
            cells = np.flatnonzero(rng.random(h * w, dtype=np.float32) < cell_own.reshape(-1))
            if cells.size:
                _put(rng, flat, values, colours, cells, cells)
            cells = np.flatnonzero(rng.random(h * w, dtype=np.float32) < cell_rate.reshape(-1))
            if cells.size:  # diffusion: into a random 8-neighbour
                step = _NEIGHBOURS[rng.integers(0, 8, cells.size)]
                ny = np.clip(cells // w + step[:, 0], 0, h - 1)
                nx = np.clip(cells % w + step[:, 1], 0, w - 1)
                _put(rng, flat, values, colours, cells, ny * w + nx)


def _put(rng: np.random.Generator, flat: np.ndarray, values: np.ndarray,
         colours: tuple[np.ndarray, np.ndarray] | None, cells: np.ndarray, into: np.ndarray) -> None:
    """The frame's features (``values``, (C, h*w)) at ``cells`` into one random sample each of
    the cells ``into`` of ``flat`` ((samples, C, h*w)); likewise its colours when given. An int8
    bank gets them quantised (only the cells written, not the whole frame)."""
    k = rng.integers(0, flat.shape[0], cells.size)
    written = values[:, cells].T
    flat[k, :, into] = quantised(written) if flat.dtype == np.int8 else written
    if colours is not None:
        samples, looks = colours
        samples[k, into] = looks[cells]


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_SQUARE = np.ones((3, 3), np.uint8)
_NEAR = np.ones((2 * NEAR_FOREGROUND + 1, 2 * NEAR_FOREGROUND + 1), np.uint8)
_GATE_REACH = np.ones((2 * GATE_REACH + 1, 2 * GATE_REACH + 1), np.uint8)


def brightness(image: np.ndarray) -> np.ndarray:
    """B + G + R per pixel of a uint8 BGR image, as int16 (exact): three plane additions, a tenth
    of the time of ``image.sum(axis=2)``, which reduces over a last axis of 3."""
    total = image[..., 0].astype(np.int16)
    total += image[..., 1]
    total += image[..., 2]
    return total


def _edges(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a BGR image's grey levels, spread over 3x3 (a mask outline that is a
    pixel off an edge still sees it)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    magnitude = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return cv2.dilate(magnitude, _SQUARE)


def _scaled(image: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``image`` (BGR uint8) times one gain per channel, rounded half to even and saturated:
    the values of ``cv2.multiply(image, (*gain, 0))`` by a table per channel, in a third of its
    time."""
    table = np.rint(np.arange(256, dtype=np.float64)[:, None] * np.asarray(gain, np.float64))
    return cv2.LUT(image, np.clip(table, 0, 255).astype(np.uint8).reshape(256, 1, 3))


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """``np.median(rows, axis=1)`` of a (k, N) float32 array with contiguous rows, by one
    partition (np.median costs several times more on a narrow array)."""
    n = rows.shape[1]
    half = n // 2
    if n % 2:
        return np.partition(rows, half, axis=1)[:, half]
    both = np.partition(rows, (half - 1, half), axis=1)
    return (both[:, half - 1] + both[:, half]) * np.float32(0.5)


def _middle(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two middle planes (the same one twice for an odd count) of a stack of uint8 arrays
    sorted per element along axis 0, by an odd-even transposition sort of whole planes: ~30x
    faster than np.median for 8."""
    s, n = list(planes), len(planes)
    for r in range(n):
        for i in range(r % 2, n - 1, 2):
            s[i], s[i + 1] = np.minimum(s[i], s[i + 1]), np.maximum(s[i], s[i + 1])
    m = n // 2
    return (s[m], s[m]) if n % 2 else (s[m - 1], s[m])


def _median_uint8(planes: np.ndarray) -> np.ndarray:
    """Per-element median of a stack of uint8 arrays along axis 0, as
    ``np.median(planes, axis=0).astype(np.uint8)`` (the mean of the middle two, rounded down)."""
    low, high = _middle(planes)
    return ((low.astype(np.uint16) + high) // 2).astype(np.uint8)


def _median_float32(planes: np.ndarray) -> np.ndarray:
    """Per-element median of a stack of uint8 arrays along axis 0, as
    ``np.median(planes, axis=0).astype(np.float32)``."""
    low, high = _middle(planes)
    return (low.astype(np.float32) + high) * np.float32(0.5)


class _Shading:
    """Which samples a frame shows in soft shade: per pixel, the frame's colour is
    ``lowest``..1 times the sample's brightness (B + G + R) with its chromaticity kept within
    ``SHADE_CHROMA`` (L1), on samples at least ``SHADE_DARKEST`` bright whose chromaticity is
    more than ``SHADE_CHROMA`` from grey, or of any chromaticity where ``smooth`` (per pixel:
    the light changed smoothly there)."""

    def __init__(self, image: np.ndarray, lowest: float, smooth: np.ndarray | None = None):
        self.frame = _planes(image)  # B, G, R planes: a last axis of 3 makes numpy slow
        self.brightness = self.frame[0] + self.frame[1] + self.frame[2]
        self.lowest = np.float32(lowest)
        self.smooth = smooth

    def of(self, sample: np.ndarray) -> np.ndarray:
        """Bool per pixel: where the frame is ``sample`` (uint8 BGR, the frame's shape or a stack
        of such) in soft shade."""
        colour = _planes(sample)
        brightness = colour[0] + colour[1] + colour[2]
        chroma = np.float32(SHADE_CHROMA)
        shaded = ((self.brightness >= self.lowest * brightness) & (self.brightness <= brightness)
                  & (brightness >= SHADE_DARKEST))
        # chromaticity distances without dividing: |colour / brightness - 1/3| summed over B, G, R
        hued = sum(np.abs(3 * c - brightness) for c in colour) > 3 * chroma * brightness
        if self.smooth is not None:
            hued |= self.smooth
        # ... and |frame / its brightness - colour / its brightness|
        spread = sum(np.abs(f * brightness - c * self.brightness) for f, c in zip(self.frame, colour))
        return shaded & hued & (spread <= chroma * brightness * self.brightness)


def _planes(image: np.ndarray) -> np.ndarray:
    """(3, ...) float32 B, G, R planes of a (..., 3) uint8 array."""
    return np.moveaxis(image, -1, 0).astype(np.float32)


def _colour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pixel |B|+|G|+|R| difference of two uint8 BGR images, saturated at 255."""
    return cv2.transform(cv2.absdiff(a, b), _ONES)


_ONES = np.ones((1, 3), np.float32)


def _pool_min(values: np.ndarray, h: int, w: int) -> np.ndarray:
    """``values`` (H, W) down to (h, w), each cell the minimum under it (all for a bool mask)."""
    fy, fx = values.shape[0] // h, values.shape[1] // w
    if (fy, fx) == (1, 1):
        return values
    if (fy, fx) == (2, 2):  # side to next side: four strided views beat a reshaped reduction
        a = values[: 2 * h, : 2 * w]
        return np.minimum(np.minimum(a[0::2, 0::2], a[0::2, 1::2]), np.minimum(a[1::2, 0::2], a[1::2, 1::2]))
    return values[: h * fy, : w * fx].reshape(h, fy, w, fx).min(axis=(1, 3))
