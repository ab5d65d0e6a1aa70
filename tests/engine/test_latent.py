import io

import numpy as np
import pytest
from PIL import Image

from app.engine import latent
from app.engine.completion import Completer
from app.engine.driver import drive
from app.engine.model import load_model
from app.engine.params import CompletionParams, PLAIN_SEARCH


def test_slerp_ends_at_its_inputs_and_interpolates_the_norm():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, 50), 0.5 * rng.uniform(-1, 1, 50)
    np.testing.assert_allclose(latent.slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(latent.slerp(a, b, 1.0), b, atol=1e-6)
    for t in (0.25, 0.5, 0.8):
        z = latent.slerp(a, b, t)
        assert np.linalg.norm(z) == pytest.approx((1 - t) * np.linalg.norm(a) + t * np.linalg.norm(b), rel=1e-5)
    # the direction turns on the great circle: the angle to a grows linearly with t
    angle = lambda u, v: np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    assert angle(a, latent.slerp(a, b, 0.5)) == pytest.approx(angle(a, b) / 2, rel=1e-4)
    np.testing.assert_allclose(latent.slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-6)   # parallel: no division by 0
    assert np.isfinite(latent.slerp(a, -a, 0.3)).all()                            # opposite: no NaN


@pytest.fixture(scope="module")
def tiny(tiny_models):
    return load_model(tiny_models[0], "tiny")


@pytest.fixture(scope="module")
def acgan(tiny_conditional_models):
    return load_model(tiny_conditional_models, "tiny-acgan")


def test_arithmetic_on_planted_z(tiny):
    d = tiny.latent_dim
    a, b, c = np.full((2, d), 0.6, np.float32), np.full((1, d), 0.5, np.float32), np.full((3, d), -0.2, np.float32)
    a[1] = 0.2                                    # mean A = 0.4
    zs, images = latent.arithmetic(tiny, (a, b, c), variations=3, sigma=0.1, seed=0)
    np.testing.assert_allclose(zs[0], np.full(d, 0.4 - 0.5 - 0.2), atol=1e-6)
    assert zs.shape == (4, d) and images.shape == (4, 16, 16, 3)
    assert 0 < np.abs(zs[1:] - zs[0]).mean() < 0.2, "variations are near the result"
    big = latent.arithmetic(tiny, (np.ones((1, d)), -np.ones((1, d)), np.ones((1, d))), variations=0)[0]
    assert big.max() == 1.0, "kept in the prior's box"


def test_a_morph_has_n_frames_from_one_pick_to_the_other_and_its_gif_too(tiny):
    z_a, z_b = latent.seeded_z(tiny, 1)[0], latent.seeded_z(tiny, 2)[0]
    frames = []
    outcome = drive(latent.morph(tiny, z_a, z_b, 7), frames.append)
    assert [f.step for f in frames] == list(range(1, 8)) and outcome.steps == 7
    ends = latent.generate(tiny, np.stack([z_a, z_b]))
    assert np.array_equal(frames[0].image, ends[0]) and np.array_equal(frames[-1].image, ends[1])
    gif = latent.write_gif(np.stack([f.image for f in frames]))
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == 7 + 5                  # forth, then back without repeating the ends
    stopped = drive(latent.morph(tiny, z_a, z_b, 7, stop=lambda: True))
    assert stopped.cancelled and stopped.steps == 0


def test_a_conditional_morph_blends_the_class_codes(acgan):
    z_a = latent.seeded_z(acgan, 0, classes=0)[0]
    z_b = latent.seeded_z(acgan, 1, classes=2)[0]
    path = latent.morph_path(acgan, z_a, z_b, 5)
    np.testing.assert_allclose(path[2, 8:11], [0.5, 0.0, 0.5])
    np.testing.assert_allclose(path[0], z_a, atol=1e-6)


def test_conditional_arithmetic_keeps_a_class_mix(acgan):
    z = [latent.seeded_z(acgan, s, classes=k) for s, k in ((0, 0), (1, 1), (2, 2))]
    zs, _ = latent.arithmetic(acgan, z, variations=0)
    np.testing.assert_allclose(zs[0, 8:11], [0.5, 0.0, 0.5])    # (1,0,0) - (0,1,0) + (0,0,1), clipped and made to sum 1


def test_any_class_gives_every_class_a_candidate(acgan):
    completer = Completer(acgan)
    guess = latent.seeded_z(acgan, 0, classes=1)[0]
    z, guessed = completer.initial_latents(5, 0, guess, share=0.8)
    assert guessed and set(acgan.manifest.class_of(z)) == {0, 1, 2}


def test_the_conditional_search_returns_the_requested_class(acgan):
    completer = Completer(acgan)
    image = np.zeros((16, 16, 1), np.float32)
    mask = np.ones((16, 16), np.float32)
    mask[8:] = 0
    for target in (0, 2):
        params = CompletionParams(steps=4, restarts=6, seed=0, blend=False, target_class=target, **PLAIN_SEARCH)
        result = completer.complete(image, mask, params)
        assert acgan.manifest.class_of(result.z[None])[0] == target
    with pytest.raises(ValueError, match="cannot complete as class 3"):
        completer.complete(image, mask, CompletionParams(steps=2, restarts=2, target_class=3))


def test_codes_are_written_into_z(tiny_conditional_models):
    info = load_model(tiny_conditional_models, "tiny-info")
    assert info.manifest.continuous == {"count": 2, "offset": 11}
    z = latent.with_codes(info, latent.seeded_z(info, 0)[0], category=1, continuous=[0.5, -2.0])
    np.testing.assert_allclose(z[8:], [0, 1, 0, 0.5, -1.0])
    with pytest.raises(ValueError, match="has 2 continuous codes"):
        latent.with_codes(info, z, continuous=[0.1])


def test_projection_gets_closer_to_the_picture(tiny):
    target = latent.generate(tiny, latent.seeded_z(tiny, 5))[0]
    frames = []
    outcome = drive(latent.Projector(tiny).iterate(target.astype(np.float32) / 127.5 - 1, steps=60, restarts=4,
                                                   report_every=20), frames.append)
    assert [f.step for f in frames] == [20, 40, 60]
    start = ((latent.generate(tiny, latent.seeded_z(tiny, 0, 4)).astype(float) - target.astype(float)) ** 2).mean(
        axis=(1, 2, 3)).min() / 127.5 ** 2
    assert frames[-1].losses["mse"] < 0.9 * start, "Adam brought the best candidate nearer than any start"
    assert outcome.z.shape == (tiny.latent_dim,) and np.abs(outcome.z).max() <= 1


def test_the_cli_writes_a_grid_and_a_gif(tiny_models, tmp_path):
    assert latent.main(["samples", "--model", "tiny", "--count", "6", "--out", str(tmp_path / "g.png"),
                        "--models-dir", tiny_models[0]]) == 0
    with Image.open(tmp_path / "g.png") as g:
        assert g.size == (16 * 3, 16 * 2)
    assert latent.main(["morph", "--model", "tiny", "--frames", "4", "--out", str(tmp_path / "m.gif"),
                        "--models-dir", tiny_models[0]]) == 0
    with Image.open(tmp_path / "m.gif") as m:
        assert m.n_frames == 6
    assert latent.main(["morph", "--model", "tiny", "--frames", "1", "--out", str(tmp_path / "x.gif"),
                        "--models-dir", tiny_models[0]]) == 2
