import numpy as np
import pytest
from PIL import Image

from app.engine import dream
from app.engine.driver import drive
from app.engine.dream import Dreamer, DreamParams, octave_sizes, tile_bounds
from app.engine.features import load_features, random_features


@pytest.fixture(scope="module")
def dreamer():
    return Dreamer(random_features())


def test_octave_sizes_follow_the_scale():
    assert octave_sizes(100, 200, 3, 2.0) == [(25, 50), (50, 100), (100, 200)]
    sizes = octave_sizes(64, 64, 4, 1.4)
    assert sizes[-1] == (64, 64)
    for (h0, _), (h1, _) in zip(sizes, sizes[1:]):
        assert abs(h1 / h0 - 1.4) < 0.05
    assert octave_sizes(64, 64, 8, 2.0)[0][0] >= dream.MIN_OCTAVE_SIDE, "too small an octave is skipped"
    assert octave_sizes(5, 5, 3, 2.0) == [(5, 5)]


def test_tiles_cover_the_image_once():
    bounds = tile_bounds(300, 128)
    assert bounds[0][0] == 0 and bounds[-1][1] == 300 and len(bounds) == 3
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_the_activation_rises_over_steps_on_a_fixed_seed(dreamer):
    image = np.random.default_rng(0).uniform(-0.5, 0.5, (48, 48, 3)).astype(np.float32)
    frames = []
    outcome = dreamer.iterate(image, DreamParams(layer="r3", steps=8, octaves=1, seed=0), report_every=0)
    outcome = drive(outcome, frames.append)
    values = [f.losses["activation"] for f in frames[1:]]
    assert len(values) == 8 and values[-1] > 1.5 * values[0]
    assert outcome.image.shape == (48, 48, 3) and outcome.image.dtype == np.uint8
    again = dreamer.dream(image, DreamParams(layer="r3", steps=8, octaves=1, seed=0))
    assert np.array_equal(again.image, outcome.image), "the same seed, the same dream"


def test_tiled_and_untiled_gradients_agree(dreamer):
    image = np.random.default_rng(1).uniform(-1, 1, (64, 64, 3)).astype(np.float32)
    weights = dreamer.channel_weights(DreamParams(layer="r1"))
    whole, a_whole = dreamer.gradient(image, "r1", weights, tile=64)
    tiled, a_tiled = dreamer.gradient(image, "r1", weights, tile=32)
    # the tiles see zero padding at their seams, so only a band along them (twice the
    # 5x5 filters' reach: forward, then back) may differ
    inner = np.ones((64, 64), bool)
    inner[24:40] = False
    inner[:, 24:40] = False
    inner[:8], inner[-8:], inner[:, :8], inner[:, -8:] = False, False, False, False
    np.testing.assert_allclose(tiled[inner], whole[inner], rtol=1e-3, atol=1e-5 * np.abs(whole).max())
    assert np.corrcoef(tiled.ravel(), whole.ravel())[0, 1] > 0.9
    assert abs(a_tiled - a_whole) < 0.1 * a_whole


def test_a_shifted_gradient_is_rolled_back(dreamer):
    image = np.random.default_rng(2).uniform(-1, 1, (32, 32, 3)).astype(np.float32)
    weights = dreamer.channel_weights(DreamParams(layer="r1"))
    plain, _ = dreamer.gradient(image, "r1", weights, tile=32)
    shifted, _ = dreamer.gradient(image, "r1", weights, tile=32, shift=(5, -3))
    # rolled by (5, -3), the image's own edges meet between rows 26 and 27 and columns 2 and 3,
    # and its rows 0 and 31 and columns 0 and 31 meet: away from those seams the two agree
    np.testing.assert_allclose(shifted[6:20, 9:25], plain[6:20, 9:25], atol=1e-5)
    assert np.abs(shifted - plain)[6:20, 9:25].max() < np.abs(shifted - plain).max()


def test_chosen_channels_dream_differently(dreamer):
    image = np.random.default_rng(4).uniform(-0.3, 0.3, (32, 32, 3)).astype(np.float32)
    a = dreamer.dream(image, DreamParams(layer="r2", channels=(0,), steps=3, octaves=1, seed=0)).image
    b = dreamer.dream(image, DreamParams(layer="r2", channels=(5,), steps=3, octaves=1, seed=0)).image
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1
    with pytest.raises(ValueError, match="channels 0 to 63"):
        dreamer.channel_weights(DreamParams(layer="r2", channels=(64,)))


def test_a_dream_stops_when_asked(dreamer):
    outcome = drive(dreamer.iterate(np.zeros((32, 32, 3), np.float32), DreamParams(layer="r1", steps=50),
                                          stop=lambda: True))
    assert outcome.cancelled and outcome.steps == 0


def test_a_discriminator_layer_dreams_a_photo_larger_than_its_input(tiny_models):
    net = load_features("d:tiny", tiny_models[0])
    image = np.random.default_rng(3).uniform(-0.5, 0.5, (50, 70, 3)).astype(np.float32)
    outcome = Dreamer(net).dream(image, DreamParams(layer="conv2", steps=2, octaves=2, tile=32, seed=0))
    assert outcome.image.shape == (50, 70, 3) and outcome.steps == 4


def cli(*args):
    return dream.main(list(args))


def test_the_cli_lists_layers_and_dreams(tiny_models, tmp_path, capsys):
    assert cli("--model", "tiny", "--list-layers", "--models-dir", tiny_models[0]) == 0
    assert "conv1\t8 channels\t8x8" in capsys.readouterr().out
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    assert cli("--features", "random", "--layer", "r2", "--image", str(tmp_path / "in.png"), "--out",
               str(tmp_path / "out.png"), "--steps", "2", "--octaves", "2", "--quiet") == 0
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (30, 40)


@pytest.mark.parametrize("args, message", [
    (["--features", "random", "--layer", "conv9"], "unknown layer 'conv9' of random"),
    (["--features", "vgg", "--layer", "r1"], "unknown features 'vgg'"),
    (["--features", "random", "--layer", "r1", "--steps", "0"], "steps must be from 1 to 1000"),
    (["--features", "random", "--layer", "r1", "--octave-scale", "1"], "octave scale must be > 1"),
    (["--features", "random", "--layer", "r1", "--channels", "a,b"], "channels must be comma-separated"),
])
def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys, args, message):
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    code = cli(*args, "--image", str(tmp_path / "in.png"), "--out", str(tmp_path / "out.png"), "--quiet")
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_needs_a_network(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli("--layer", "r1", "--image", "x.png", "--out", "y.png")
    assert exit_.value.code == 2 and "give one of --model" in capsys.readouterr().err
