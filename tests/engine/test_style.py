import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from app.engine import style
from app.engine.features import load_features, random_features
from app.engine.style import Stylist, StyleParams, gram, match_histogram


def test_the_gram_matrix_of_a_planted_map():
    """Two channels: a = 1 everywhere, b = 2 on half the positions and 0 elsewhere."""
    f = np.zeros((1, 2, 2, 2), np.float32)
    f[..., 0] = 1
    f[0, 0, :, 1] = 2
    g = gram(tf.constant(f)).numpy()[0]
    # a.a = 4/4, a.b = (2 + 2)/4, b.b = (4 + 4)/4
    np.testing.assert_allclose(g, [[1.0, 1.0], [1.0, 2.0]])


def test_histogram_matching_takes_the_reference_values_in_the_input_order():
    values = np.array([[3.0, 0.1], [1.0, 0.3], [2.0, 0.2]], np.float32)
    reference = np.array([[10.0, -1.0], [30.0, -3.0], [20.0, -2.0]], np.float32)
    matched = match_histogram(values, reference).numpy()
    np.testing.assert_allclose(matched[:, 0], [30, 10, 20])     # largest gets largest
    np.testing.assert_allclose(matched[:, 1], [-3, -1, -2])     # smallest gets smallest
    # different counts: quantiles are interpolated, and the result follows the reference's range
    rng = np.random.default_rng(0)
    big = rng.normal(0, 1, (1000, 1)).astype(np.float32)
    ref = rng.uniform(5, 6, (37, 1)).astype(np.float32)
    out = match_histogram(big, ref).numpy()
    assert out.min() == pytest.approx(ref.min()) and out.max() == pytest.approx(ref.max())
    assert np.array_equal(np.argsort(out[:, 0], kind="stable"), np.argsort(big[:, 0], kind="stable"))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    content = np.zeros((32, 32, 3), np.float32)
    content[8:24, 8:24] = 0.8                                   # a bright square
    stripes = np.tile(np.where(np.arange(32) % 6 < 3, -0.9, 0.9)[None, :, None], (32, 1, 3))
    stripes += rng.normal(0, 0.05, stripes.shape)
    return content, np.clip(stripes, -1, 1).astype(np.float32)


def run(stylist, content, style_image, **kw):
    frames = []
    outcome = style.drive(stylist.iterate(content, style_image, StyleParams(size=32, **kw), report_every=0),
                          frames.append)
    return frames, outcome


def test_the_style_loss_falls_and_the_result_moves_toward_the_style(images):
    content, stripes = images
    frames, outcome = run(Stylist(random_features()), content, stripes, steps=40, lr=0.05)
    first, last = frames[0].losses, outcome.losses
    assert last["style"] < 0.5 * first["style"]
    assert last["total"] < first["total"]
    assert first["content"] == pytest.approx(0.0, abs=1e-6), "it starts from the content image"
    assert outcome.image.shape == (32, 32, 3) and len(frames) == 41
    # the stripes' vertical edges appear: more horizontal variation than the content had
    variation = np.abs(np.diff(outcome.image.astype(float), axis=1)).mean()
    assert variation > 3 * np.abs(np.diff((content + 1) * 127.5, axis=1)).mean()


def test_the_histogram_loss_pulls_the_values_toward_the_style(images):
    content, stripes = images
    stylist = Stylist(random_features())
    _, plain = run(stylist, content, stripes, steps=30, histogram_weight=0.0)
    _, held = run(stylist, content, stripes, steps=30, histogram_weight=50.0)
    mean = lambda a: a.astype(float).mean()
    target = mean((stripes + 1) * 127.5)
    assert abs(mean(held.image) - target) < abs(mean(plain.image) - target)


def test_discriminator_features_transfer_at_any_size(tiny_models, images):
    content, stripes = images
    net = load_features("d:tiny-gray", tiny_models[0])
    frames, outcome = run(Stylist(net), content, stripes[:20], steps=5)
    assert outcome.image.shape == (32, 32, 3) and outcome.steps == 5


def test_a_transfer_stops_when_asked(images):
    content, stripes = images
    outcome = style.drive(Stylist(random_features()).iterate(content, stripes, StyleParams(size=32),
                                                            stop=lambda: True))
    assert outcome.cancelled and outcome.steps == 0


@pytest.mark.parametrize("args, message", [
    (["--features", "vgg19"], "unknown features 'vgg19'"),
    (["--steps", "0"], "steps must be from 1 to 2000"),
    (["--size", "4000"], "size must be from 16 to 512"),
    (["--histogram", "-1"], "histogram weight must be from 0 to 10000"),
    (["--content-layer", "conv7"], "unknown layer 'conv7' of random"),
])
def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys, args, message):
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    code = style.main(["--content", str(tmp_path / "in.png"), "--style", str(tmp_path / "in.png"),
                       "--out", str(tmp_path / "out.png"), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_cli_writes_the_result(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(tmp_path / "s.png")
    assert style.main(["--content", str(tmp_path / "c.png"), "--style", str(tmp_path / "s.png"), "--out",
                       str(tmp_path / "o.png"), "--size", "30", "--steps", "3", "--quiet"]) == 0
    with Image.open(tmp_path / "o.png") as out:
        assert out.size == (30, 20)
