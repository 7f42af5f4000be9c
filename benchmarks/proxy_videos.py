"""Stand-ins, made from ../shared, for the kinds of unseen video issue 16 names.

There is no long dynamic-background video, no "objects in view from the first frame" video and
no video whose light changes in ../shared; this writes CDnet-layout trees (links, no copies) that imitate them:

- ``startup/<video>``: each long CDnet video starting a third of the way into its temporalROI
  (its clean warm-up frames dropped), temporalROI ``1 N``: whatever is in view then (cars, a
  person reading) is in the first frames the background is built from, and everything is scored.
- ``short/<video><k>``: three windows of ``SHORT_LENGTH`` frames of each long CDnet video, each
  starting on the frame with the most ground-truth foreground near a tenth, a half and four
  fifths of the way into its temporalROI, all scored: a short video with people or cars in view
  from frame 1 (baseline/office: a man reading who never leaves), where the first frames
  weigh most.
- ``leave/<video>``: highway, pedestrians and traffic from the start of their temporalROI with
  the person of baseline/office (frame 1000, cut out along its ground truth) standing in view
  for the first ``LEAVE_FRAMES`` frames, then gone: an object in the first frames that leaves
  a ghost. Ground truth: the pasted person is foreground while there.
- ``sway/<video>``: highway, office and pedestrians whole, with the parts of the picture that
  are never foreground in any frame swaying like foliage in wind (a smooth random displacement
  field, up to ``SWAY_PX`` pixels, that drifts over about a second): a dynamic background on a
  long video, with the ground truth unchanged (the swaying parts are background).
- ``leaves/<video>``: the same parts churning like leaves in strong wind: a fine-grained field
  (``LEAVES_GRAIN`` pixels) up to ``LEAVES_PX`` pixels, a new one every ``LEAVES_PERIOD`` frames.
- ``foliage/<video>``: highway, office and pedestrians whole with leaves (half the area) in front
  of the parts that are never foreground, tossed by wind (``FOLIAGE_PX``): each such pixel
  switches between a leaf and what is behind it, like a tree in front of the camera.
- ``light/<video>``: highway, office and pedestrians whole under changing light: the
  brightness drifts between 55 % and 100 % over ``LIGHT_PERIOD`` frames (dusk, auto-exposure)
  and a cloud takes 25 % more for 100 frames (900-999, 15-frame ramps); ground truth unchanged.
- ``dynamic/<clip>``: each UCSD clip (water, sky, trees, crowds) played forwards and backwards
  until it is at least ``--frames`` long; the first back-and-forth is warm-up, the rest scored.
  Score them with a network that never saw UCSD.

Usage::

    python benchmarks/proxy_videos.py --data ../shared/data --out out/proxy
    streamcd bench cdnet --dataset out/proxy/startup --methods streamcd,gsoc,subsense ...
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from streamcd.bench.ucsd import link_or_copy, ucsd_to_cdnet
from streamcd.cdnet_layout import find_videos

log = logging.getLogger(__name__)


def _link(source: Path, target: Path) -> None:
    """``target`` (replaced if there) links to ``source``; frames changed later are unlinked
    before they are rewritten, so the source is never touched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    link_or_copy(source, target)


def _rewrite(path: Path, change: Callable[[np.ndarray], np.ndarray], flag: int = cv2.IMREAD_COLOR) -> None:
    """Replace the linked frame at ``path`` by ``change`` of its picture: the link is removed
    before the file is written, so the source in ../shared is never touched. JPEG quality 95."""
    picture = cv2.imread(str(path.resolve()), flag)
    path.unlink()
    cv2.imwrite(str(path), change(picture), [cv2.IMWRITE_JPEG_QUALITY, 95])


def _write(video: Path, target: Path, order: list[int], scored_from: int) -> None:
    """``target``: the frames of ``video`` in ``order`` (1-based numbers), renumbered from 1."""
    for new, old in enumerate(order, start=1):
        _link(video / "input" / f"in{old:06d}.jpg", target / "input" / f"in{new:06d}.jpg")
        _link(video / "groundtruth" / f"gt{old:06d}.png", target / "groundtruth" / f"gt{new:06d}.png")
    _link(video / "ROI.bmp", target / "ROI.bmp")
    (target / "temporalROI.txt").write_text(f"{scored_from} {len(order)}\n")


def startup(cdnet: Path, out: Path) -> None:
    for video in find_videos(cdnet):
        first, last = video.first, video.last
        start = first + (last - first) // 3
        _write(video.root, out / "startup" / video.name, list(range(start, last + 1)), 1)
        log.info("startup/%s: frames %d..%d", video.name, start, last)


#: Frames the pasted person stands in view in ``leave/`` videos.
LEAVE_FRAMES = 150
#: Frames scored in ``leave/`` videos.
LEAVE_LENGTH = 600


def _cut_person(office: Path) -> tuple[np.ndarray, np.ndarray]:
    """The person of baseline/office at frame 1000 (BGR crop, bool mask), along the ground truth."""
    image = cv2.imread(str(office / "input" / "in001000.jpg"))
    truth = cv2.imread(str(office / "groundtruth" / "gt001000.png"), cv2.IMREAD_GRAYSCALE) == 255
    ys, xs = np.nonzero(truth)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    return image[box], truth[box]


def _paste(region: tuple[slice, slice], mask: np.ndarray, value: np.ndarray | int,
           picture: np.ndarray) -> np.ndarray:
    """``picture`` with ``value`` (the person's pixels, or 255 in the ground truth) under
    ``mask`` in ``region``."""
    picture[region][mask] = value
    return picture


#: Frames of each ``short/`` window, and where in the temporalROI the three windows start looking.
SHORT_LENGTH = 300
SHORT_AT = (0.1, 0.45, 0.8)


def _foreground_pixels(video, number: int) -> int:
    truth = cv2.imread(str(video.root / "groundtruth" / f"gt{number:06d}.png"), cv2.IMREAD_GRAYSCALE)
    return int((truth == 255).sum())


def short(cdnet: Path, out: Path) -> None:
    for video in find_videos(cdnet):
        last_start = video.last - SHORT_LENGTH + 1
        if last_start < video.first:
            continue
        for k, at in enumerate(SHORT_AT, start=1):
            look = video.first + int(at * (last_start - video.first))
            start = max(range(look, min(look + 150, last_start + 1), 5),
                        key=partial(_foreground_pixels, video))
            _write(video.root, out / "short" / f"{video.name}{k}",
                   list(range(start, start + SHORT_LENGTH)), 1)
            log.info("short/%s%d: frames %d..%d", video.name, k, start, start + SHORT_LENGTH - 1)


def leave(cdnet: Path, out: Path) -> None:
    person, shape = _cut_person(cdnet / "baseline" / "office")
    for video in find_videos(cdnet):
        if video.name == "office":
            continue
        numbers = list(range(video.first, min(video.last, video.first + LEAVE_LENGTH - 1) + 1))
        target = out / "leave" / video.name
        _write(video.root, target, numbers, 1)
        first = cv2.imread(str(video.root / "input" / f"in{numbers[0]:06d}.jpg"))
        h, w = first.shape[:2]
        scale = 0.8 * h / person.shape[0]
        crop = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(shape.astype(np.uint8), crop.shape[1::-1], interpolation=cv2.INTER_NEAREST) == 1
        top, left = h - crop.shape[0], w // 3
        region = slice(top, top + crop.shape[0]), slice(left, left + crop.shape[1])
        for new in range(1, LEAVE_FRAMES + 1):
            for kind, name, ext in (("input", "in", "jpg"), ("groundtruth", "gt", "png")):
                flag = cv2.IMREAD_COLOR if kind == "input" else cv2.IMREAD_GRAYSCALE
                _rewrite(target / kind / f"{name}{new:06d}.{ext}",
                         partial(_paste, region, mask, crop[mask] if kind == "input" else 255), flag)
        log.info("leave/%s: frames %d..%d, a person in view for %d", video.name, numbers[0],
                 numbers[-1], LEAVE_FRAMES)


#: Largest displacement (pixels) of the swaying background.
SWAY_PX = 8.0
#: Frames between two independent displacement fields (blended in between).
SWAY_PERIOD = 12
#: Size (pixels, the smoothing's sigma) of the patches that move together.
SWAY_GRAIN = 8.0


def _never_foreground(video) -> np.ndarray:
    """Pixels that are background (0 or 50) in every ground-truth frame of the temporalROI,
    kept 6 pixels away from anything that ever moves."""
    moved = None
    for number in range(video.first, video.last + 1):
        truth = cv2.imread(str(video.root / "groundtruth" / f"gt{number:06d}.png"), cv2.IMREAD_GRAYSCALE)
        hit = (truth == 255) | (truth == 170)
        moved = hit if moved is None else moved | hit
    return cv2.dilate(moved.astype(np.uint8), np.ones((13, 13), np.uint8)) == 0


#: leaves: largest displacement (pixels), frames between two fields, the fields' grain (pixels).
LEAVES_PX, LEAVES_PERIOD, LEAVES_GRAIN = 12.0, 2, 3.0


def _field(rng: np.random.Generator, h: int, w: int, grain: float) -> np.ndarray:
    """A smooth random (h, w, 2) displacement field, values in about [-1, 1]."""
    noise = rng.standard_normal((h, w, 2)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigmaX=grain)
    return smooth / (3 * smooth.std())


def _wind(rng: np.random.Generator, h: int, w: int, grain: float, period: int,
          numbers: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(number, field) for each frame number: a smooth (h, w, 2) displacement field in about
    [-1, 1] that eases from one random field (``grain`` pixels) to the next every ``period``
    frames. The fields are drawn from ``rng`` as the frames are reached."""
    fields = [_field(rng, h, w, grain), _field(rng, h, w, grain)]
    for number in numbers:
        phase = (number % period) / period
        if number % period == 0:
            fields = [fields[1], _field(rng, h, w, grain)]
        blend = 0.5 - 0.5 * np.cos(np.pi * phase)
        yield number, (1 - blend) * fields[0] + blend * fields[1]


def _pixel_grid(h: int, w: int) -> np.ndarray:
    """(h, w, 2) float32 x, y of every pixel: remap's identity map."""
    return np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)


def leaves(cdnet: Path, out: Path, seed: int = 1) -> None:
    sway(cdnet, out, seed, category="leaves", px=LEAVES_PX, period=LEAVES_PERIOD, grain=LEAVES_GRAIN)


def sway(cdnet: Path, out: Path, seed: int = 0, category: str = "sway", px: float = SWAY_PX,
         period: int = SWAY_PERIOD, grain: float = SWAY_GRAIN) -> None:
    rng = np.random.default_rng(seed)
    for video in find_videos(cdnet):
        if video.name == "traffic":  # its camera already shakes
            continue
        target = out / category / video.name
        numbers = list(range(1, video.count + 1))
        _write(video.root, target, numbers, video.first)
        region = _never_foreground(video).astype(np.float32)
        weight = cv2.GaussianBlur(region, (0, 0), sigmaX=4)[..., None] * region[..., None]
        h, w = region.shape
        grid = _pixel_grid(h, w)
        for number, field in _wind(rng, h, w, grain, period, numbers):
            maps = (grid + px * weight * field).astype(np.float32)
            _rewrite(target / "input" / f"in{number:06d}.jpg",
                     partial(cv2.remap, map1=np.ascontiguousarray(maps[..., 0]),
                             map2=np.ascontiguousarray(maps[..., 1]), interpolation=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT))
        log.info("%s/%s: %d frames, %.0f%% of the picture moves", category, video.name, len(numbers),
                 100 * region.mean())


#: foliage: leaf cover, the leaves' size (pixels), their largest sway (pixels), frames per field.
FOLIAGE_COVER, FOLIAGE_GRAIN, FOLIAGE_PX, FOLIAGE_PERIOD = 0.5, 4.0, 10.0, 2


def _leaf_layer(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A still layer of leaves: (h, w) bool where a leaf is, (h, w, 3) uint8 their colours
    (autumn yellows to greens, shaded leaf by leaf)."""
    noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), FOLIAGE_GRAIN)
    leaf = noise > np.quantile(noise, 1 - FOLIAGE_COVER)
    tone = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 2 * FOLIAGE_GRAIN)
    tone = (tone - tone.min()) / (np.ptp(tone) + 1e-6)  # 0..1
    shade = 0.55 + 0.45 * (cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.0) - 0.5) * 4
    green, yellow = np.array([40, 140, 70], np.float32), np.array([30, 170, 230], np.float32)  # BGR
    colour = (green * (1 - tone[..., None]) + yellow * tone[..., None]) * np.clip(shade, 0.3, 1.3)[..., None]
    return leaf, np.clip(colour, 0, 255).astype(np.uint8)


def _over(leaf: np.ndarray, colour: np.ndarray, picture: np.ndarray) -> np.ndarray:
    """``picture`` with the leaves' colours where ``leaf`` is set."""
    picture[leaf] = colour[leaf]
    return picture


def foliage(cdnet: Path, out: Path, seed: int = 2) -> None:
    """Leaves in front of the background, tossed by wind: unlike ``sway``/``leaves`` (the
    background's own texture moved), a pixel switches between two looks (a leaf, what is behind
    it), as with a tree in front of the camera. Only where no object ever passes."""
    rng = np.random.default_rng(seed)
    for video in find_videos(cdnet):
        if video.name == "traffic":
            continue
        target = out / "foliage" / video.name
        numbers = list(range(1, video.count + 1))
        _write(video.root, target, numbers, video.first)
        region = _never_foreground(video)
        h, w = region.shape
        leaf, colour = _leaf_layer(rng, h, w)
        grid = _pixel_grid(h, w)
        for number, field in _wind(rng, h, w, 3 * FOLIAGE_GRAIN, FOLIAGE_PERIOD, numbers):
            maps = (grid + FOLIAGE_PX * field).astype(np.float32)
            mx, my = np.ascontiguousarray(maps[..., 0]), np.ascontiguousarray(maps[..., 1])
            moved = cv2.remap(leaf.astype(np.uint8), mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
            tinted = cv2.remap(colour, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            _rewrite(target / "input" / f"in{number:06d}.jpg",
                     partial(_over, (moved == 1) & region, tinted))
        log.info("foliage/%s: %d frames, %.0f%% of the picture behind leaves", video.name,
                 len(numbers), 100 * FOLIAGE_COVER * region.mean())


#: Frames of one slow cycle of the light (from 100 % down to 55 % and back).
LIGHT_PERIOD = 700
#: The cloud: frames (0-based) it covers, the brightness it takes, its ramps in and out.
CLOUD = (900, 1000, 0.25, 15)


def _light(index: int) -> float:
    """The brightness factor of frame ``index`` (0-based) of a ``light`` stand-in."""
    gain = 0.775 + 0.225 * np.cos(2 * np.pi * index / LIGHT_PERIOD)
    start, stop, depth, ramp = CLOUD
    if start <= index < stop:
        gain *= 1 - depth * min(1.0, (index - start) / ramp, (stop - index) / ramp)
    return gain


def _scale(gain: float, image: np.ndarray) -> np.ndarray:
    """``image`` with every value times ``gain``, truncated to uint8."""
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def light(cdnet: Path, out: Path) -> None:
    for video in find_videos(cdnet):
        if video.name == "traffic":  # like sway: the baseline videos
            continue
        target = out / "light" / video.name
        numbers = list(range(1, video.count + 1))
        _write(video.root, target, numbers, video.first)
        for index, number in enumerate(numbers):
            _rewrite(target / "input" / f"in{number:06d}.jpg", partial(_scale, _light(index)))
        log.info("light/%s: %d frames", video.name, len(numbers))


def dynamic(ucsd: Path, out: Path, frames: int) -> None:
    converted = ucsd_to_cdnet(ucsd, out / "_ucsd")
    for video in find_videos(converted):
        clip = list(range(video.first, video.last + 1))
        cycle = clip + clip[-2:0:-1]
        order = list(cycle)
        while len(order) < frames + len(cycle):
            order += cycle
        _write(video.root, out / "dynamic" / video.name, order, len(cycle) + 1)
        log.info("dynamic/%s: %d frames, %d warm-up", video.name, len(order), len(cycle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("out/proxy"))
    parser.add_argument("--frames", type=int, default=300, help="scored frames per dynamic clip, at least")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    startup(args.data / "cdnet2014", args.out)
    short(args.data / "cdnet2014", args.out)
    leave(args.data / "cdnet2014", args.out)
    sway(args.data / "cdnet2014", args.out)
    leaves(args.data / "cdnet2014", args.out)
    foliage(args.data / "cdnet2014", args.out)
    light(args.data / "cdnet2014", args.out)
    dynamic(args.data / "ucsd", args.out, args.frames)


if __name__ == "__main__":
    main()
