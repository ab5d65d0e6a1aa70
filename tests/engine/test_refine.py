import numpy as np
import pytest
import tensorflow as tf

from app.engine.completion import Completer
from app.engine.imageio import to_float
from app.engine.masks import importance_weights
from app.engine.model import load_model
from app.engine.params import CompletionParams
from app.engine.refine import Refiner


@pytest.fixture(scope="module")
def model(tiny_models):
    return load_model(tiny_models[0], "tiny")


def centre_hole(size=16):
    m = np.ones((size, size), np.float32)
    m[4:12, 4:12] = 0
    return m


def test_g_cut_at_its_first_feature_map_is_still_g(model):
    head, tail = model.split
    z = tf.constant(np.random.default_rng(0).uniform(-1, 1, (3, model.latent_dim)).astype(np.float32))
    features = head(z)[0]
    assert features.shape.rank == 4 and features.shape[0] == 3
    assert float(tf.reduce_min(features)) >= 0.0, "the map comes out of a ReLU"
    np.testing.assert_allclose(tail(features)[0].numpy(), model.generate(z)[0].numpy(), atol=1e-6)


def known_error(image, fill, mask):
    known = mask > 0.5
    return float(np.abs(fill - image)[known].mean())


def test_refining_fits_the_known_pixels_closer(model):
    rng = np.random.default_rng(1)
    z = rng.uniform(-1, 1, model.latent_dim).astype(np.float32)
    image = model.generate(tf.constant(rng.uniform(-1, 1, (1, model.latent_dim)).astype(np.float32)))[0].numpy()[0]
    mask = centre_hole()
    weights = importance_weights(mask, 7, 0.0)[..., None]
    refiner = Refiner(model)
    unrefined = refiner.refine(z, image, weights, 0, 0.05)
    np.testing.assert_allclose(unrefined, model.generate(tf.constant(z[None]))[0].numpy()[0], atol=1e-6)
    refined = refiner.refine(z, image, weights, 40, 0.05)
    assert refined.shape == image.shape and np.all(np.abs(refined) <= 1.0)
    assert known_error(image, refined, mask) < 0.8 * known_error(image, unrefined, mask)


def test_a_completion_with_the_second_stage_keeps_its_search_and_its_known_pixels(model):
    completer = Completer(model)
    image = to_float(np.random.default_rng(2).integers(0, 256, (16, 16, 3)))
    mask = centre_hole()
    plain = completer.complete(image, mask, CompletionParams(steps=20, restarts=4, seed=3, refine_steps=0))
    refined = completer.complete(image, mask, CompletionParams(steps=20, restarts=4, seed=3, refine_steps=30))
    assert np.array_equal(plain.z, refined.z) and plain.losses == refined.losses, "the search is the same"
    known = mask > 0.5
    assert np.array_equal(refined.image[known], plain.image[known]), "known pixels stay the photo's"
    fit = [np.abs(r.fill.astype(float) - (image + 1) * 127.5)[known].mean() for r in (plain, refined)]
    assert fit[1] < fit[0], "the refined fill agrees better with the known pixels"
    assert not np.array_equal(plain.image, refined.image)


def test_refine_settings_are_checked():
    with pytest.raises(ValueError, match="refine steps"):
        CompletionParams(refine_steps=-1).check()
    with pytest.raises(ValueError, match="refine lr"):
        CompletionParams(refine_lr=0.0).check()


def test_the_model_chooses_the_second_stage_unless_the_request_does(tiny_models, tmp_path):
    import shutil

    from app.engine import manifest as model_format

    shutil.copytree(f"{tiny_models[0]}/tiny", tmp_path / "tiny")
    manifest = model_format.read(tmp_path / "tiny")
    manifest.refine_steps = 30
    model_format.write(tmp_path / "tiny", manifest)
    completer = Completer(load_model(str(tmp_path), "tiny"))
    image = to_float(np.random.default_rng(4).integers(0, 256, (16, 16, 3)))
    mask = centre_hole()

    def fill(steps):
        return completer.complete(image, mask, CompletionParams(steps=10, restarts=2, seed=5,
                                                                refine_steps=steps)).fill
    assert np.array_equal(fill(None), fill(30)), "the manifest's 30 steps by default"
    assert not np.array_equal(fill(None), fill(0)), "a request's 0 turns it off"
    assert load_model(tiny_models[0], "tiny").manifest.refine_steps == 0, "off unless a model says so"
