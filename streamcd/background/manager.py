"""The reference background of one stream: created, kept up to date, re-initialised, persisted."""

from __future__ import annotations

import logging
import math
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import cv2
import numpy as np

from ..config import BackgroundConfig
from ..errors import BackgroundError, ConfigError, SourceError
from ..frames import StreamEvent
from .bank import FeatureBank
from .initial import cdnet_warmup, load_image
from .median import MedianCollector
from .scene import SceneChangeDetector
from .state import SavedState, StateStore
from .update import SlowUpdate

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

#: Slow updates are persisted at most this often (seconds of wall time); (re)initialisations,
#: ``save()`` and ``close()`` write at once.
SAVE_INTERVAL_S = 10.0
REINIT_EVENT = "background_reinit"
#: ``picture()`` of a feature bank is recomputed every this many frames.
PICTURE_FRAMES = 25

#: What ``feed`` holds and hands back: the caller's frame objects.
Item = TypeVar("Item")


class Phase(Enum):
    """Where a manager is in its life cycle (``BackgroundManager.phase``)."""

    COLLECTING = "collecting"  # no reference yet: frames go into the initial median
    RUNNING = "running"  # a reference to compare with, kept up to date
    REINITIALISING = "reinitialising"  # running on an interim reference while a new median fills


class BackgroundManager(Generic[Item]):
    """Holds the reference background a siamese change model compares every frame with.

    ``version`` starts at 0 and grows by one on every change of ``reference``, so a caller can
    cache work derived from the reference (encoder features) and redo it only when the version
    moves. ``reference`` is read-only and never modified in place: a change is a new array.

    Life cycle:

    - *Initialisation.* init "image" and "cdnet" (and a persisted state in ``state_dir``) are
      ready after construction. init "median" (or "cdnet" without warm-up frames) needs stream
      frames: ``offer()`` them while ``frames_wanted() > 0`` (or call ``finish_init()`` when the
      stream ends first); every ``stride``-th frame goes into the temporal median.
    - *Running.* ``observe(image, mask)`` after each processed frame. It re-initialises on a
      resolution change or a global scene change and, when ``update_rate > 0``, blends the frame
      into the reference every ``update_every`` frames where the mask is background.
    - *Re-initialisation* on a running stream never holds frames back: the current frame becomes
      the reference at once (version + 1); the following observed frames are collected like the
      initial median (every ``stride``-th until ``frames``, so ``(frames - 1) * stride + 1``
      frames) and their median replaces it (version + 1 again). Slow updates pause meanwhile;
      the scene-change check does not (a second change restarts the collection).

    Not thread-safe: use it from the thread that runs the stream's model. Example::

        background = BackgroundManager(config.background, "cam1")
        for frame in frames:
            for ready in background.feed(frame, frame.image):   # [] while the median fills
                events = background.prepare(ready.image)         # reference has its size now
                mask = model(background.reference, ready.image)  # re-encode when version moves
                events += background.observe(ready.image, mask)
        for ready in background.drain():             # a stream shorter than the median
            ...
        background.close()                           # persists it (also as a context manager)

    ``feed`` / ``drain`` are the one way callers hold frames back until the initial median is
    ready; ``offer`` / ``finish_init`` are the steps they are made of.
    """

    def __init__(self, config: BackgroundConfig, stream: str, cdnet_dir: Path | None = None):
        self.config = config
        self.stream = stream
        self._cdnet_dir = Path(cdnet_dir) if cdnet_dir is not None else None
        self._reference: np.ndarray | None = None
        self._version = 0
        # Initial collection (reference is None) or a running re-initialisation (it is not).
        self._collector: MedianCollector | None = None
        # The frames the newest median was made of, until take_init_frames() hands them out.
        self._init_frames: np.ndarray | None = None
        self._just_reinit = False
        self._scene = SceneChangeDetector(config.scene_change_fraction, config.scene_change_frames)
        self._update: SlowUpdate | None = None
        self._since_update = 0
        self._frames_seen = 0
        self._last_save = -math.inf
        self._dirty = False
        self._closed = False
        self._held: list[Item] = []  # fed while the initial median is collected
        self._store: StateStore | None = None
        #: The feature bank built on the current reference (``background.model: bank``); the
        #: frame processor builds it (it needs the model) and the manager keeps and persists it.
        self.bank: FeatureBank | None = None
        self._picture: tuple[tuple[int, int], np.ndarray] | None = None  # (key, picture())
        if config.init == "cdnet" and self._cdnet_dir is None:
            raise ConfigError(
                f"stream {stream}: background.init 'cdnet' needs a CDnet source "
                "(source.type: cdnet); use init 'median' or 'image' for this source"
            )
        if config.state_dir is not None:
            self._store = StateStore(config.state_dir, stream)
            try:
                self._store.dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ConfigError(
                    f"background.state_dir: cannot create {self._store.dir} ({e}); "
                    "give a writable folder or leave state_dir unset"
                ) from e
        if not self._resume():
            self._initialise()

    # -- public state -----------------------------------------------------------------------

    @property
    def reference(self) -> np.ndarray | None:
        """HxWx3 uint8 BGR reference (read-only), None until ready."""
        return self._reference

    def picture(self) -> np.ndarray | None:
        """The background as it looks now, for people (``streamcd serve``'s reference view).

        With a feature bank that has colours: its per-pixel median colour at the frame's size,
        recomputed every ``PICTURE_FRAMES`` frames (the same array in between, so a viewer can
        cache it by identity); otherwise ``reference``. Safe to call from another thread: the
        bank may change while it is read, which only blurs one picture.
        """
        bank, reference = self.bank, self._reference
        if bank is None or bank.colours is None or reference is None:
            return reference
        key = (id(bank), bank.frames // PICTURE_FRAMES)
        if self._picture is None or self._picture[0] != key:
            small = bank.picture()
            h, w = reference.shape[:2]
            self._picture = key, cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        return self._picture[1]

    @property
    def version(self) -> int:
        """0 before ready; +1 on every change of ``reference``."""
        return self._version

    @property
    def ready(self) -> bool:
        return self._reference is not None

    @property
    def phase(self) -> Phase:
        if self._reference is None:
            return Phase.COLLECTING
        return Phase.REINITIALISING if self._collector is not None else Phase.RUNNING

    def feed(self, item: Item, image: np.ndarray) -> list[Item]:
        """The frames ready to be processed now, in order, after ``item`` arrived.

        While the initial median is collected ``item`` is held and ``[]`` comes back; the frame
        that completes the median releases every held frame (itself last); once running, it is
        ``[item]``. ``image`` is the item's HxWx3 uint8 BGR picture.
        """
        if self.ready:
            return [item]
        self.offer(image)
        self._held.append(item)
        if not self.ready:
            return []
        held, self._held = self._held, []
        return held

    def drain(self) -> list[Item]:
        """The frames still held when the stream ends before the median is complete.

        The median is then made of the frames offered so far (``finish_init``); ``[]`` when
        nothing is held.
        """
        if not self._held:
            return []
        self.finish_init()
        held, self._held = self._held, []
        return held

    def take_init_frames(self) -> np.ndarray | None:
        """The frames the current reference is the median of, (N, H, W, 3) uint8, once.

        Given out (and forgotten) once after each median: the initial one, CDnet warm-up
        frames, a re-initialisation's. None otherwise (a picture, a persisted state, the
        interim single-frame reference of a re-initialisation, or already taken). The frame
        processor builds a feature bank from them (``background.model: bank``).
        """
        frames, self._init_frames = self._init_frames, None
        return frames

    def frames_wanted(self) -> int:
        """Stream frames the initial median still needs (0 when ready)."""
        if self.ready or self._collector is None:
            return 0
        return self._collector.wanted

    # -- initialisation ---------------------------------------------------------------------

    def offer(self, image: np.ndarray) -> None:
        """Give a stream frame to the initial median; the manager is ready once it has enough."""
        if self.ready:
            raise BackgroundError(
                f"stream {self.stream}: the background is ready; call observe() "
                "for processed frames, offer() only while frames_wanted() > 0"
            )
        _check_image(image)
        assert self._collector is not None
        if self._collector.offer(image):
            self._finish_collection("initial")

    def finish_init(self) -> None:
        """Compute the initial median from the frames offered so far (a stream that ended early).

        Does nothing when already ready; SourceError when no frame was offered at all.
        """
        if self.ready:
            return
        assert self._collector is not None
        if self._collector.kept == 0:
            raise SourceError(
                f"stream {self.stream}: ended before any frame arrived, so there is "
                "no background; check that the source yields frames"
            )
        self._finish_collection("initial (short stream)")

    # -- running ----------------------------------------------------------------------------

    def prepare(self, image: np.ndarray) -> list[StreamEvent]:
        """Make the reference match ``image``'s size before the model runs on it.

        On a resolution change (or a persisted reference of another size) this re-initialises at
        once and returns the event; ``observe()`` does the same when ``prepare()`` was not called.
        """
        if not self.ready:
            raise BackgroundError(
                f"stream {self.stream}: the background is not ready; offer() "
                "frames or call finish_init() first"
            )
        _check_image(image)
        assert self._reference is not None
        old, new = self._reference.shape, image.shape
        if old == new:
            return []
        self._just_reinit = True
        return [self._reinit(image, f"resolution {old[1]}x{old[0]} -> {new[1]}x{new[0]}")]

    def observe(self, image: np.ndarray, mask: np.ndarray) -> list[StreamEvent]:
        """Update the background after a frame was processed; ``mask`` is HxW, 0 = background."""
        _check_image(image)
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"mask must be a numpy array, got {type(mask).__name__}")
        if mask.shape != image.shape[:2]:
            raise ValueError(
                f"mask is {mask.shape}, expected {image.shape[:2]} (the frame's HxW, "
                "0 = background)"
            )
        events = self.prepare(image)
        self._frames_seen += 1
        if self._just_reinit:
            # This frame is the new reference itself: nothing to learn from it or its mask.
            self._just_reinit = False
            return events
        if self._scene.update(mask):
            return [self._reinit(image, "scene change")]
        if self.bank is not None:
            self.bank.update(mask == 0)
            self._dirty = True
        if self._collector is not None:
            if self._collector.offer(image):
                self._finish_collection("re-initialisation")
        elif self.config.update_rate > 0:
            self._since_update += 1
            if self._since_update >= self.config.update_every:
                self._slow_update(image, mask)
        self._save_if_due()
        return []

    # -- persistence ------------------------------------------------------------------------

    def save(self) -> None:
        """Persist the reference now (no-op without state_dir or before ready); OSError on failure."""
        if self._store is None or self._reference is None:
            return
        h, w = self._reference.shape[:2]
        image = str(self.config.image.resolve()) if self.config.image is not None else None
        state = SavedState(
            stream=self.stream,
            version=self._version,
            width=w,
            height=h,
            frames_seen=self._frames_seen,
            saved_at=time.time(),
            init=self.config.init,
            image=image,
            provisional=self._collector is not None,
        )
        self._store.save(self._reference, state, self.bank)
        self._last_save = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        """Persist the final state (failures are logged, not raised). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._save_quietly()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _resume(self) -> bool:
        if self._store is None:
            return False
        loaded = self._store.load()
        if loaded is None:
            return False
        reference, state = loaded
        image = str(self.config.image.resolve()) if self.config.image is not None else None
        if state.init != self.config.init or (self.config.init == "image" and state.image != image):
            log.info(
                "stream %s: persisted background was made with init %r (image %s), the "
                "config now says %r (image %s); starting fresh",
                self.stream,
                state.init,
                state.image,
                self.config.init,
                image,
            )
            return False
        reference.flags.writeable = False
        self._reference, self._version = reference, state.version
        self.bank = self._store.load_bank(state.version)
        self._frames_seen = state.frames_seen
        if state.provisional:
            self._collector = self._new_collector()
        log.info(
            "stream %s: resumed background %dx%d version %d from %s%s",
            self.stream,
            state.width,
            state.height,
            state.version,
            self._store.dir,
            " (finishing its re-initialisation)" if state.provisional else "",
        )
        return True

    def _initialise(self) -> None:
        config = self.config
        if config.init == "image":
            assert config.image is not None  # the schema guarantees it
            self._set_reference(load_image(config.image))
            log.info("stream %s: background from %s", self.stream, config.image)
            return
        if config.init == "cdnet":
            assert self._cdnet_dir is not None
            warmup = cdnet_warmup(self._cdnet_dir, config.frames, config.median)
            if warmup is not None:
                self._set_reference(warmup.median())
                self._init_frames = warmup.held()
                return
            log.info(
                "stream %s: %s has no frames before temporalROI; collecting the background "
                "median from the stream instead",
                self.stream,
                self._cdnet_dir,
            )
        self._collector = self._new_collector()

    def _new_collector(self) -> MedianCollector:
        config = self.config
        return MedianCollector(config.frames, config.stride, method=config.median)

    def _finish_collection(self, what: str) -> None:
        assert self._collector is not None
        collector, self._collector = self._collector, None
        log.info("stream %s: background %s median of %d frames", self.stream, what, collector.kept)
        self._set_reference(collector.median())
        self._init_frames = collector.held()

    def _reinit(self, image: np.ndarray, detail: str) -> StreamEvent:
        self._collector = self._new_collector()
        self._scene.reset()
        log.info(
            "stream %s: background re-initialised (%s); median of the next %d frames follows",
            self.stream,
            detail,
            self._collector.wanted,
        )
        self._set_reference(image.copy())
        return StreamEvent(REINIT_EVENT, self.stream, time.time(), detail)

    def _set_reference(self, reference: np.ndarray) -> None:
        """A new reference from a (re)initialisation: new version, persisted at once."""
        reference.flags.writeable = False
        self._reference = reference
        self._init_frames = None
        self.bank = None  # the processor builds a new one on the new reference
        self._version += 1
        self._update = None
        self._since_update = 0
        self._save_quietly()

    def _slow_update(self, image: np.ndarray, mask: np.ndarray) -> None:
        assert self._reference is not None
        self._since_update = 0
        if self._update is None:
            self._update = SlowUpdate(self._reference, self.config.update_rate)
        updated = self._update.apply(image, mask)
        if np.array_equal(updated, self._reference):
            return  # nothing moved a whole grey level: keep the version (and cached features)
        updated.flags.writeable = False
        self._reference = updated
        self._version += 1
        self._dirty = True

    def _save_if_due(self) -> None:
        if self._dirty and time.monotonic() - self._last_save >= SAVE_INTERVAL_S:
            self._save_quietly()

    def _save_quietly(self) -> None:
        # A live stream keeps running when the disk hiccups; the next save tries again.
        try:
            self.save()
        except OSError as e:
            self._dirty = True
            self._last_save = time.monotonic()  # retry after SAVE_INTERVAL_S, not every frame
            log.warning(
                "stream %s: could not persist the background to %s: %s",
                self.stream,
                self._store.dir if self._store else None,
                e,
            )


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected an HxWx3 uint8 BGR image, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image.dtype} {image.shape}")
