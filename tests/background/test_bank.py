"""The feature bank: sample choice, decision distance, per-pixel threshold, conservative update.

These run the bank on synthetic unit-vector features with a numpy head (per-pixel L2 distance,
one side), so every number below follows from the arithmetic; the model-level behaviour is
tested in tests/test_pipeline.py and tests/test_detector.py.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from streamcd.background.bank import (
    GATE_REACH,
    BankSettings,
    FeatureBank,
    _row_medians,
    _Shading,
)
from streamcd.background.state import dump_bank, load_bank


def unit(*vector: float) -> np.ndarray:
    v = np.asarray(vector, np.float32)
    return v / np.linalg.norm(v)


def frame(h: int, w: int, vector: np.ndarray) -> tuple[np.ndarray]:
    """One side of features (1, C, h, w): every pixel the same vector."""
    return (np.broadcast_to(vector[None, :, None, None], (1, vector.size, h, w)).copy(),)


def l2_head(samples, query) -> np.ndarray:
    return np.sqrt(((samples[0] - query[0]) ** 2).sum(axis=1))


A, B, C = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)
D_AB = float(np.linalg.norm(A - B))  # sqrt(2)


def test_samples_nearest_the_median_keep_a_passing_object_out():
    # 10 frames: the object (B) sits in 3 of them; with the median (A) as centre no sample is B
    frames = [frame(4, 4, B if i in (2, 5, 7) else A) for i in range(10)]
    bank = FeatureBank.from_frames(frames, BankSettings(samples=6), base=0.5, center=frame(4, 4, A), seed=1)
    assert np.allclose(bank.samples[0], A[None, :, None, None])
    random_bank = FeatureBank.from_frames(frames, BankSettings(samples=6), base=0.5, seed=1)
    assert np.isclose(random_bank.samples[0], B[None, :, None, None]).all(axis=1).any()


def test_with_a_median_fewer_frames_than_samples_are_each_taken_once_and_the_median_fills_the_rest():
    # a frame taken twice would match itself twice (matches 2): what it shows could never be seen
    frames = [frame(2, 3, v) for v in (A, B, C)]
    looks = [np.full((2, 3, 3), k * 50, np.uint8) for k in (1, 2, 3)]
    median_look = np.full((2, 3, 3), 7, np.uint8)
    bank = FeatureBank.from_frames(frames, BankSettings(samples=5), base=0.5, center=frame(2, 3, A),
                                   seed=0, images=looks, center_image=median_look)
    per_sample = bank.samples[0][:, :, 0, 0]
    assert sum(np.allclose(s, B) for s in per_sample) == 1 and sum(np.allclose(s, C) for s in per_sample) == 1
    assert sum(np.allclose(s, A) for s in per_sample) == 3  # the A frame and the median twice
    assert sorted(bank.colours[:, 0, 0, 0].tolist()) == [7, 7, 50, 100, 150]
    # the frame showing B scores it against the other samples: not hidden by itself
    assert bank.score(frame(2, 3, B), l2_head)[0, 0] == pytest.approx(D_AB)
    with pytest.raises(ValueError, match="center_image"):
        FeatureBank.from_frames(frames, BankSettings(samples=5), base=0.5, center=frame(2, 3, A), images=looks)


def test_fewer_frames_than_samples_are_reused():
    bank = FeatureBank.from_frames([frame(2, 3, A), frame(2, 3, B)], BankSettings(samples=5), base=0.5, seed=0)
    assert bank.samples[0].shape == (5, 3, 2, 3)
    looks = {tuple(np.round(bank.samples[0][k, :, 0, 0], 3)) for k in range(5)}
    assert looks == {tuple(np.round(A, 3)), tuple(np.round(B, 3))}


def test_the_decision_is_the_matches_th_smallest_distance():
    settings = BankSettings(samples=3, matches=2, dynamic_factor=0.0)
    bank = FeatureBank((np.stack([frame(1, 1, v)[0][0] for v in (A, A, B)]),), settings, base=0.5)
    # the frame looks like B: one sample matches (0), the 2nd smallest is |B - A|
    assert bank.score(frame(1, 1, B), l2_head)[0, 0] == pytest.approx(D_AB)
    bank2 = FeatureBank(bank.samples, BankSettings(samples=3, matches=1, dynamic_factor=0.0), base=0.5)
    assert bank2.score(frame(1, 1, B), l2_head)[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_a_moving_background_raises_only_its_own_threshold():
    # left pixel flickers between A and another look 0.53 away (under the base 0.6, so it is
    # learnt); right pixel is still
    settings = BankSettings(samples=4, matches=2, subsample=1_000_000, dynamic_factor=3.0, mean_frames=10,
                            still_update=0)
    near = unit(1, 0.6, 0)
    flicker = float(np.linalg.norm(near - A))
    bank = FeatureBank.from_frames([frame(1, 2, A)], settings, base=0.6, seed=0)
    for i in range(60):
        query = frame(1, 2, A)
        query[0][0, :, 0, 0] = near if i % 2 else A
        bank.score(query, l2_head)
        bank.update(np.ones((1, 2), bool))
    threshold = bank.threshold()
    assert threshold[0, 1] == pytest.approx(0.6)  # still pixel: the base
    assert threshold[0, 0] == pytest.approx(3.0 * flicker / 2, rel=0.1)  # 3 x mean of 0 and flicker
    # a change 0.72 away from A: foreground on the still pixel, background on the flickering one
    scaled = bank.score(frame(1, 2, unit(1, 0.9, 0)), l2_head)
    assert scaled[0, 1] > 0.6 > scaled[0, 0]


def test_the_running_mean_learns_only_where_the_mask_says_background():  # (base 1.9: quiet)
    settings = BankSettings(samples=2, matches=1, subsample=1_000_000, mean_frames=4, still_update=0)
    bank = FeatureBank.from_frames([frame(1, 2, A)], settings, base=1.9, seed=0)
    for _ in range(20):
        bank.score(frame(1, 2, B), l2_head)
        bank.update(np.array([[True, False]]))
    assert bank.mean[0, 0] == pytest.approx(D_AB, rel=0.01) and bank.mean[0, 1] == 0.0


def test_a_pixel_that_blinks_learns_its_mean_while_foreground_and_a_steady_one_does_not():
    # left pixel: foreground (B, far from the bank's A) every other frame, background (A) between,
    # as a shaking camera's edge; right pixel: foreground (B) in every frame, as a car that stays.
    # Learning only where background, the left pixel would learn nothing but A's distance 0
    settings = BankSettings(samples=2, matches=1, subsample=1_000_000, dynamic_factor=3.0,
                            mean_frames=4, still_update=0)
    bank = FeatureBank.from_frames([frame(1, 2, A)], settings, base=0.6, seed=0)
    for i in range(40):
        query = frame(1, 2, B)
        if i % 2:
            query[0][0, :, 0, 0] = A
        bank.score(query, l2_head)
        bank.update(np.array([[bool(i % 2), False]]))
    assert bank.blink[0, 0] > 0.95 and bank.blink[0, 1] == 0.0
    # the foreground frames count as the base (0.6), the background ones as 0: a mean near 0.3
    assert 0.2 < bank.mean[0, 0] < 0.45 and bank.mean[0, 1] == 0.0
    assert bank.threshold()[0, 0] > bank.threshold()[0, 1] == pytest.approx(0.6)


def test_a_missed_object_raises_its_threshold_at_most_to_factor_x_base():
    # the pixel's threshold starts high (mean 0.5 x 2 = 1.0), so a look 0.9 away is missed and
    # the mask calls it background: the mean learns it, but only as the base (0.6), so the
    # threshold settles at 2 x 0.6, not 2 x 0.9
    settings = BankSettings(samples=2, matches=1, subsample=1_000_000, dynamic_factor=2.0,
                            mean_frames=4, still_update=0)
    bank = FeatureBank.from_frames([frame(1, 1, A)], settings, base=0.6, seed=0)
    bank.mean[:] = 0.5
    missed = unit(1, 1.351, 0)  # 0.9 from A
    assert float(np.linalg.norm(missed - A)) == pytest.approx(0.9, abs=0.01)
    for _ in range(40):
        assert bank.score(frame(1, 1, missed), l2_head)[0, 0] <= 0.6  # background by the mask
        bank.update(np.ones((1, 1), bool))
    assert bank.mean[0, 0] == pytest.approx(0.6, rel=0.01)
    assert bank.threshold()[0, 0] == pytest.approx(1.2, rel=0.01)
    # a look 1.3 away is foreground again (under the unbounded rule the threshold was 1.8)
    assert bank.score(frame(1, 1, unit(1, 6.37, 0)), l2_head)[0, 0] > 0.6


def test_next_to_foreground_only_looks_within_the_base_enter_the_samples():
    # threshold raised to 1.0 everywhere (mean 0.5); a look 0.9 from A is background by the
    # mask at two pixels: one beside a foreground pixel (B, 1.41 away), one far from it
    settings = BankSettings(samples=2, matches=1, subsample=1, dynamic_factor=2.0, still_update=0,
                            mean_frames=1_000_000)
    bank = FeatureBank.from_frames([frame(12, 12, A)], settings, base=0.6, seed=0)
    bank.mean[:] = 0.5
    look = unit(1, 1.351, 0)  # 0.9 from A
    query = frame(12, 12, A)
    query[0][0, :, 2, 2] = B
    query[0][0, :, 2, 3] = look  # beside the foreground
    query[0][0, :, 9, 9] = look  # 7 cells away from it
    scaled = bank.score(query, l2_head)
    assert scaled[2, 2] > 0.6 and scaled[2, 3] <= 0.6 and scaled[9, 9] <= 0.6
    bank.update(scaled <= 0.6)
    learnt = np.isclose(bank.samples[0], look[None, :, None, None], atol=1e-6).all(axis=1).any(axis=0)
    assert learnt[9, 9] and not learnt[2, 3]


def test_seeded_mean_is_the_smallest_distance_of_the_bank_frames():
    # five frames, all in the bank: A twice, then looks further and further from the others.
    # 2nd-smallest distances: A 0, A 0, N 0.54, B 0.99, C 1.41: the median would seed 0.54
    near = unit(1, 0.6, 0)
    frames = [frame(1, 1, v) for v in (A, A, near, B, C)]
    bank = FeatureBank.from_frames(frames, BankSettings(samples=5, matches=2), base=2.0, seed=0)
    decisions = [bank._decision(l2_head(bank.samples, f))[0, 0] for f in frames]
    assert np.median(decisions) == pytest.approx(float(np.linalg.norm(A - near)), rel=1e-5)
    bank.seed_mean(frames, l2_head)
    assert bank.mean[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert bank.threshold()[0, 0] == pytest.approx(2.0)


def test_seeded_mean_counts_a_distance_at_most_as_the_base():
    # four mutually orthogonal looks, two samples, two matches: every frame is 1.41 from one
    # sample at least, so the smallest 2nd distance is 1.41, counted as the base (0.5)
    looks = [unit(*np.eye(4)[i]) for i in range(4)]
    frames = [frame(1, 1, v) for v in looks]
    bank = FeatureBank.from_frames(frames, BankSettings(samples=2, matches=2), base=0.5, seed=0)
    bank.seed_mean(frames, l2_head)
    assert bank.mean[0, 0] == pytest.approx(0.5)
    assert bank.threshold()[0, 0] == pytest.approx(2 * 0.5)


def test_foreground_never_enters_the_bank_and_background_does():
    settings = BankSettings(samples=4, matches=2, subsample=1, still_update=0)  # every background pixel updates
    # base 1.9: the features call B background too, so the mask alone decides
    bank = FeatureBank.from_frames([frame(8, 8, A)], settings, base=1.9, seed=0)
    background = np.ones((8, 8), bool)
    background[:, :4] = False  # left half foreground
    for _ in range(30):
        bank.score(frame(8, 8, B), l2_head)
        bank.update(background)
    has_b = np.isclose(bank.samples[0], B[None, :, None, None], atol=1e-6).all(axis=1).any(axis=0)
    # right half learnt B; the left half only where a right-half neighbour diffused into it
    assert has_b[:, 4:].all()
    assert not has_b[:, :3].any()
    assert has_b[:, 3].any()


def test_a_ghost_is_eaten_from_its_border():
    # the bank holds an object (B) in the middle that has left: the frame shows A everywhere
    settings = BankSettings(samples=4, matches=2, subsample=2, still_update=0)
    bank = FeatureBank.from_frames([frame(12, 12, A)], settings, base=0.5, seed=0)
    bank.samples[0][:, :, 4:8, 4:8] = B[None, :, None, None]
    ghost = []
    for _ in range(400):
        changed = bank.score(frame(12, 12, A), l2_head) > 0.5
        ghost.append(int(changed.sum()))
        bank.update(~changed)
    assert ghost[0] == 16 and ghost[-1] == 0
    assert ghost == sorted(ghost, reverse=True)  # it only shrinks


def test_a_larger_mask_is_pooled_to_the_grid_conservatively():
    from streamcd.background.bank import _pool_min

    background = np.ones((4, 4), bool)
    background[0, 0] = False  # one frame pixel of the top-left cell is foreground
    assert _pool_min(background, 2, 2).tolist() == [[False, True], [True, True]]
    settings = BankSettings(samples=2, matches=1, subsample=1, still_update=0)  # every background cell updates
    bank = FeatureBank.from_frames([frame(2, 2, A)], settings, base=1.9, seed=0)
    bank.score(frame(2, 2, B), l2_head)
    bank.update(background)
    has_b = np.isclose(bank.samples[0], B[None, :, None, None], atol=1e-6).all(axis=1).any(axis=0)
    assert has_b[0, 1] and has_b[1, 0] and has_b[1, 1]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="matches"):
        FeatureBank((np.zeros((2, 3, 4, 4), np.float32),), BankSettings(samples=2, matches=3), base=0.5)
    with pytest.raises(ValueError, match="samples"):
        FeatureBank((np.zeros((3, 3, 4, 4), np.float32),), BankSettings(samples=2), base=0.5)
    bank = FeatureBank.from_frames([frame(2, 2, A)], BankSettings(samples=2), base=0.5)
    with pytest.raises(ValueError, match="score"):
        bank.update(np.ones((2, 2), bool))


def test_bank_round_trips_through_its_file_format():
    bank = FeatureBank.from_frames([frame(3, 5, A), frame(3, 5, B)], BankSettings(samples=3), base=0.42, seed=3)
    bank.mean[:] = np.arange(15, dtype=np.float32).reshape(3, 5)
    bank.blink[:] = np.linspace(0, 1, 15, dtype=np.float32).reshape(3, 5)
    bank.frames = 17
    loaded, version = load_bank(dump_bank(bank, version=9))
    assert version == 9 and loaded.base == pytest.approx(0.42) and loaded.frames == 17
    assert loaded.settings == bank.settings
    np.testing.assert_array_equal(loaded.samples[0], bank.samples[0])
    np.testing.assert_array_equal(loaded.mean, bank.mean)
    np.testing.assert_array_equal(loaded.blink, bank.blink)


def test_an_int8_bank_keeps_and_learns_features_within_a_rounding_step_and_round_trips():
    from streamcd.runtime.bank_compare import INT8_SCALE, quantised, widened

    def widening_head(samples, query):
        return l2_head(widened(samples), query)

    settings = BankSettings(samples=4, matches=2, subsample=1, still_update=0)
    tilted = unit(1, 0.3, 0.2)
    small = FeatureBank.from_frames([frame(6, 6, tilted)], settings, base=1.9, seed=0)
    bank = FeatureBank.from_frames([frame(6, 6, tilted)], settings, base=1.9, seed=0, dtype=np.int8)
    assert bank.samples[0].dtype == np.int8 and bank.nbytes < small.nbytes
    np.testing.assert_allclose(widened(bank.samples)[0], small.samples[0], atol=0.5 / INT8_SCALE)
    # the same distances within a rounding step, and the same pixels learn the frame's features
    for _ in range(3):
        np.testing.assert_allclose(bank.score(frame(6, 6, B), widening_head),
                                   small.score(frame(6, 6, B), l2_head), atol=0.01)
        background = np.ones((6, 6), bool)
        background[:, :2] = False
        bank.update(background)
        small.update(background)
    assert bank.samples[0].dtype == np.int8
    learnt = (bank.samples[0] == quantised(B)[None, :, None, None]).all(axis=1)
    assert learnt.any(axis=0)[:, 3:].all() and not learnt.any(axis=0)[:, :1].any()
    loaded, _ = load_bank(dump_bank(bank, version=1))
    assert loaded.samples[0].dtype == np.int8
    np.testing.assert_array_equal(loaded.samples[0], bank.samples[0])


def test_a_bank_file_saved_before_the_blink_map_loads_with_an_empty_one():
    bank = FeatureBank.from_frames([frame(2, 3, A)], BankSettings(samples=2), base=0.5, seed=0)
    bank.mean[:] = 0.25
    with np.load(io.BytesIO(dump_bank(bank, version=1))) as npz:
        older = {k: npz[k] for k in npz.files if k != "blink"}
    buffer = io.BytesIO()
    np.savez(buffer, **older)
    loaded, _ = load_bank(buffer.getvalue())
    assert loaded.blink.shape == (2, 3) and not loaded.blink.any()
    np.testing.assert_array_equal(loaded.mean, bank.mean)


def test_unchanged_foreground_is_absorbed_and_moving_foreground_is_not():
    # no diffusion to speak of (subsample huge): only the still-foreground update can act
    settings = BankSettings(samples=4, matches=2, subsample=1_000_000, still_update=8)
    ghost = FeatureBank.from_frames([frame(6, 6, B)], settings, base=0.5, seed=0)
    moving = FeatureBank.from_frames([frame(6, 6, B)], settings, base=0.5, seed=0)
    changed_ghost, changed_moving = [], []
    grey, dark = np.full((6, 6, 3), 120, np.uint8), np.full((6, 6, 3), 20, np.uint8)
    for i in range(400):
        # the scene is A (and stays grey), the bank still says B
        mask = ghost.score(frame(6, 6, A), l2_head, grey) > 0.5
        changed_ghost.append(int(mask.sum()))
        ghost.update(~mask)
        look = (A, C)[i % 2]  # an object whose look (and colour) changes every frame
        mask = moving.score(frame(6, 6, look), l2_head, (grey, dark)[i % 2]) > 0.5
        changed_moving.append(int(mask.sum()))
        moving.update(~mask)
    assert changed_ghost[0] == 36 and changed_ghost[-1] == 0
    assert min(changed_moving) == 36  # never absorbed
    off = FeatureBank.from_frames([frame(6, 6, B)], BankSettings(samples=4, subsample=1_000_000, still_update=0),
                                  base=0.5, seed=0)
    for _ in range(400):
        mask = off.score(frame(6, 6, A), l2_head, grey) > 0.5
        off.update(~mask)
    assert mask.all()  # still_update 0: foreground never enters


def test_what_the_features_call_changed_is_not_learnt_even_if_the_mask_clears_it():
    # the colour gate clears the mask where colours match; the samples must not learn B from it
    settings = BankSettings(samples=4, matches=2, subsample=1, still_update=0)
    bank = FeatureBank.from_frames([frame(4, 4, A)], settings, base=0.5, seed=0)
    for _ in range(20):
        bank.score(frame(4, 4, B), l2_head)  # |B - A| = 1.41 > 0.5: changed by the features
        bank.update(np.ones((4, 4), bool))  # ... but the mask says background everywhere
    assert np.allclose(bank.samples[0], A[None, :, None, None])
    assert bank.mean[0, 0] == 0  # nor the running mean


def _square_bank(ghosts: bool, inside: np.ndarray, colour_inside: tuple[int, int, int]) -> FeatureBank:
    """A 12x12 bank of A (grey) with ``inside`` (and its colour) in the middle 4x4, no diffusion."""
    settings = BankSettings(samples=4, matches=2, subsample=1_000_000, still_update=0, ghosts=ghosts)
    grey = np.full((12, 12, 3), 120, np.uint8)
    bank = FeatureBank.from_frames([frame(12, 12, A)], settings, base=0.5, seed=0, images=[grey])
    bank.samples[0][:, :, 4:8, 4:8] = inside[None, :, None, None]
    bank.colours[:, 4:8, 4:8] = colour_inside
    return bank


def _run(bank: FeatureBank, look: tuple[np.ndarray], image: np.ndarray, frames: int) -> list[int]:
    changed = []
    for _ in range(frames):
        mask = bank.score(look, l2_head, image) > 0.5
        changed.append(int(mask.sum()))
        bank.update(~mask)
    return changed


def test_a_ghost_whose_outline_is_an_edge_of_the_bank_is_learnt_within_a_few_frames():
    # the bank remembers a red square (B) that has left: the frame is plain grey A
    grey = np.full((12, 12, 3), 120, np.uint8)
    healed = _run(_square_bank(True, B, (0, 0, 255)), frame(12, 12, A), grey, 40)
    assert healed[0] == 16 and healed[-1] == 0
    assert next(i for i, n in enumerate(healed) if n == 0) < 25  # ~2 x GHOST_UPDATE per sample
    kept = _run(_square_bank(False, B, (0, 0, 255)), frame(12, 12, A), grey, 40)
    assert min(kept) == 16  # without the test (and no diffusion) nothing learns it


def test_an_object_that_arrives_and_stays_is_not_taken_for_a_ghost():
    # the bank is plain grey A; a red square (B) arrives and stays: its outline is in the frame
    bank = _square_bank(True, A, (120, 120, 120))
    image = np.full((12, 12, 3), 120, np.uint8)
    image[4:8, 4:8] = (0, 0, 255)
    look = frame(12, 12, A)
    look[0][0, :, 4:8, 4:8] = B[:, None, None]
    assert min(_run(bank, look, image, 200)) == 16


@pytest.mark.parametrize("samples", [1, 2, 3, 8, 9])
def test_the_picture_is_the_median_of_the_colour_samples(samples):
    rng = np.random.default_rng(samples)
    colours = rng.integers(0, 256, (samples, 6, 5, 3), dtype=np.uint8)
    features = (rng.standard_normal((samples, 2, 6, 5)).astype(np.float32),)
    bank = FeatureBank(features, BankSettings(samples=samples, matches=1), base=0.4, colours=colours)
    picture = bank.picture()
    assert picture.dtype == np.uint8
    np.testing.assert_array_equal(picture, np.median(colours, axis=0).astype(np.uint8))
    picture[:] = 0  # a new array: the bank's colours are untouched
    assert bank.colours.any()


@pytest.mark.parametrize("count", [1, 2, 3, 8, 9])
def test_the_exposure_picture_is_the_exact_median(count):
    from streamcd.background.bank import _median_float32

    planes = np.random.default_rng(count).integers(0, 256, (count, 7, 5, 3), dtype=np.uint8)
    median = _median_float32(planes)
    assert median.dtype == np.float32
    np.testing.assert_array_equal(median, np.median(planes, axis=0).astype(np.float32))


def test_the_exposure_gain_rounds_like_opencv():
    # every value of every channel, under gains that land on halves and saturate
    from streamcd.background.bank import _scaled

    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    for gain in ((0.5, 1.5, 2.5), (0.75, 1.25, 0.9), (1.0371, 0.9629, 1.113)):
        np.testing.assert_array_equal(_scaled(ramp, np.array(gain)), cv2.multiply(ramp, (*gain, 0.0)))
    bank, _ = _textured_bank()
    # and the bank applies such a table: a frame at 80 % comes back within a grey level
    image = bank.colours[0]
    other = np.clip(np.rint(image * np.float32(0.8)), 0, 255).astype(np.uint8)
    assert np.abs(bank.match_exposure(other).astype(int) - image).max() <= 2


def _textured_bank(exposure: bool = True) -> tuple[FeatureBank, np.ndarray]:
    rng = np.random.default_rng(3)
    image = rng.integers(40, 200, (24, 32, 3), dtype=np.uint8)
    settings = BankSettings(samples=4, matches=2, exposure=exposure)
    return FeatureBank.from_frames([frame(12, 16, A)], settings, base=0.5, seed=0, images=[image]), image


@pytest.mark.parametrize("gain", [0.7, 0.85, 1.2])
def test_a_frame_of_another_exposure_is_matched_to_the_bank(gain):
    bank, image = _textured_bank()
    other = np.clip(np.rint(image * np.float32(gain)), 0, 255).astype(np.uint8)
    matched = bank.match_exposure(other)
    assert matched.dtype == np.uint8 and matched.shape == image.shape
    assert np.abs(matched.astype(int) - image).mean() < 2 < np.abs(other.astype(int) - image).mean()


def test_a_frame_within_the_tolerance_or_mostly_clipped_is_left_as_it_is():
    bank, image = _textured_bank()
    close = np.clip(np.rint(image * np.float32(1.02)), 0, 255).astype(np.uint8)
    assert bank.match_exposure(close) is close
    white = np.full_like(image, 255)  # nothing well exposed to compare
    assert bank.match_exposure(white) is white
    off, image = _textured_bank(exposure=False)
    dark = image // 2
    assert off.match_exposure(dark) is dark


def _shade_scores(shade: float, wall=(150, 170, 190)) -> np.ndarray:
    """Scores of a 1x5 strip whose features all changed (A -> B) over a wall of one colour, seen
    (0) in soft shade, (1) in deep shade, (2) grey as bright as (0), (3) brighter, (4) as it is."""
    wall = np.array(wall, np.float32)
    bank = FeatureBank.from_frames([frame(1, 5, A)], BankSettings(samples=4, matches=2, shade=shade),
                                   base=0.5, seed=0, images=[np.tile(wall.astype(np.uint8), (1, 5, 1))])
    looks = [wall * 0.85, wall * 0.6, np.full(3, wall.mean() * 0.85), wall * 1.1, wall]
    image = np.rint(np.stack(looks))[None].astype(np.uint8)
    return bank.score(frame(1, 5, B), l2_head, image)[0]


def test_the_colour_gate_takes_soft_shade_of_a_samples_colour_as_background():
    scores = _shade_scores(0.8)
    assert scores[0] == 0  # 85 % as bright, same hue: a soft shadow (colour distance 76 > 30)
    assert scores[1] > 0.5  # 60 %: too dark for soft shade
    assert scores[2] > 0.5  # another hue at that brightness: an object
    assert scores[3] > 0.5  # brighter is never shade
    assert scores[4] == 0  # the colour itself
    off = _shade_scores(1.0)
    assert off[0] > 0.5 and off[4] == 0


def test_on_a_grey_background_a_darker_grey_is_an_object_not_shade():
    # without a hue to keep, a lone darker grey pixel could be shade or an object: the light
    # around it changed unevenly (the strip's other looks), so it is an object
    scores = _shade_scores(0.8, wall=(160, 160, 160))
    assert scores[0] > 0.5 and scores[4] == 0


def test_on_a_grey_background_shade_is_where_the_light_changed_smoothly():
    """A grey textured wall, its features all changed (A -> B) so only the colours decide: the
    left half dimmed evenly to 88 % (soft shade, beyond the plain colour match) is background;
    the right half, a grey object of its own texture and the same mean brightness, is not."""
    rng = np.random.default_rng(7)
    h, w = 20, 40
    wall = np.repeat(rng.integers(110, 200, (h, w, 1)), 3, axis=2).astype(np.uint8)
    image = np.rint(wall * 0.88).astype(np.uint8)
    image[:, w // 2:] = np.repeat(rng.integers(90, 180, (h, w // 2, 1)), 3, axis=2)
    checker = (np.indices((h, w)).sum(axis=0) % 2)[..., None]
    uneven = np.rint(wall * (0.82 + 0.18 * checker)).astype(np.uint8)  # every other pixel dimmed

    def found(shade: float, picture: np.ndarray) -> np.ndarray:
        settings = BankSettings(samples=4, matches=2, shade=shade)
        bank = FeatureBank.from_frames([frame(h, w, A)], settings, base=0.5, seed=0, images=[wall])
        return bank.score(frame(h, w, B), l2_head, picture) > 0.5

    shade, plain = found(0.8, image), found(1.0, image)  # plain: the colour match alone
    inside = np.s_[:, 2:w // 2 - 3]  # the shade, away from where it meets the object
    assert plain[inside].mean() > 0.9 and not shade[inside].any()
    beyond = np.s_[:, w // 2 + 3:]  # the object, away from the shade
    assert plain[beyond].mean() > 0.6
    np.testing.assert_array_equal(shade[beyond], plain[beyond])
    # the same wall dimmed unevenly is no shade: only what the colour match took is cleared
    np.testing.assert_array_equal(found(0.8, uneven), found(1.0, uneven))


def test_shade_is_counted_once_per_sample_and_only_where_the_colours_did_not_match():
    rng = np.random.default_rng(3)
    colours = rng.integers(40, 256, (4, 20, 30, 3), dtype=np.uint8)
    features = (rng.standard_normal((4, 2, 20, 30)).astype(np.float32),)
    bank = FeatureBank(features, BankSettings(samples=4, matches=2, shade=0.8), base=0.5, colours=colours)
    image = colours[rng.integers(0, 4, (20, 30)), np.arange(20)[:, None], np.arange(30)]  # one look each
    image = np.rint(image * rng.choice([0.7, 0.9, 1.0], (20, 30, 1))).astype(np.uint8)
    near = np.stack([np.abs(c.astype(int) - image).sum(axis=2) <= 30 for c in colours])
    matched = near.sum(axis=0, dtype=np.uint8)
    before = matched.copy()
    flat = matched.reshape(-1)  # _add_shade works on flat pixels: a view
    bank._add_shade(flat, near.reshape(4, -1), colours.reshape(4, -1, 3), image.reshape(-1, 3))
    # brute force: a sample matches when near or shaded; pixels already matched stay as they were
    shading = _Shading(image, 0.8)
    full = np.sum([n | shading.of(c) for n, c in zip(near, colours)], axis=0)
    expected = np.where(before >= 2, before, full)
    np.testing.assert_array_equal(matched, expected)
    assert (matched > before).any()  # the 0.9 looks of hued samples were found


def test_the_colour_gate_near_change_only_gives_the_same_map_wherever_it_can_cross_a_threshold():
    """``gate_above``: colours compared only within GATE_REACH cells of a pixel above it. There
    the map is the full gate's; elsewhere both are at most ``gate_above`` (no threshold that low
    or higher sees a difference)."""
    rng = np.random.default_rng(5)
    h, w, low = 30, 40, 0.3
    colours = rng.integers(0, 256, (4, h, w, 3), dtype=np.uint8)
    features = (np.broadcast_to(A[None, :, None, None], (4, 3, h, w)).copy(),)

    def scores(gate_above):
        bank = FeatureBank(features, BankSettings(samples=4, matches=2), base=0.5, colours=colours.copy())
        # small distances, and any up to sqrt(2) in one corner; the frame's colour one of the
        # samples' at half the pixels
        t = rng.random((h, w)) * 0.1
        t[:10, :15] = rng.random((10, 15)) * 3
        query = (np.stack([unit(1, v, 0) for v in t.ravel()]).T.reshape(1, 3, h, w).copy(),)
        image = np.where(rng.random((h, w, 1)) < 0.5, colours[0], colours[1] // 2)
        return bank.score(query, l2_head, image, gate_above=gate_above)

    state = rng.bit_generator.state
    full = scores(0.0)
    rng.bit_generator.state = state
    near_only = scores(low)
    reach = 2 * GATE_REACH + 1
    near = cv2.dilate((near_only > low).astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    assert 0 < near.mean() < 1
    np.testing.assert_array_equal(near_only[near], full[near])
    assert (full[~near] <= low).all() and (near_only[~near] <= low).all()
    assert (full[near] == 0).any()  # the gate did act near the change


@pytest.mark.parametrize("count", [1, 2, 7, 4800])
def test_the_exposure_gain_is_numpys_median_of_the_ratios(count):
    ratios = np.random.default_rng(count).random((3, count), dtype=np.float32) * 2
    np.testing.assert_array_equal(_row_medians(ratios), np.median(ratios, axis=1))
