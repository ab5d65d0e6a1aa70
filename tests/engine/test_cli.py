import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from app.engine import cli


@pytest.fixture
def files(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    hole = np.zeros((16, 16), np.uint8)
    hole[4:12, 4:12] = 255
    Image.fromarray(image).save(tmp_path / "in.png")
    Image.fromarray(hole).save(tmp_path / "mask.png")
    return tmp_path, image, hole


def run_cli(models_dir, tmp_path, *extra):
    return cli.main(["--model", "tiny", "--image", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                     "--out", str(tmp_path / "out.png"), "--models-dir", models_dir, "--quiet", *extra])


def test_cli_completes_and_keeps_known_pixels(tiny_models, files):
    tmp_path, image, hole = files
    assert run_cli(tiny_models[0], tmp_path, "--steps", "5", "--restarts", "2", "--seed", "1") == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (16, 16, 3)
    assert np.array_equal(out[hole == 0], image[hole == 0])


def test_cli_second_stage_changes_the_fill_only(tiny_models, files):
    tmp_path, image, hole = files
    outs = []
    for steps in ("0", "30"):
        assert run_cli(tiny_models[0], tmp_path, "--steps", "5", "--restarts", "2", "--seed", "1",
                       "--refine-steps", steps) == 0
        outs.append(np.asarray(Image.open(tmp_path / "out.png")))
    assert np.array_equal(outs[0][hole == 0], outs[1][hole == 0])
    assert not np.array_equal(outs[0][hole > 0], outs[1][hole > 0])


@pytest.mark.parametrize("change, message", [
    ({"--model": "missing"}, "unknown model 'missing'"),
    ({"--image": "nowhere.png"}, "cannot read"),
    ({"--steps": "0"}, "steps must be at least 1"),
    ({"--anchor": "-2"}, "anchor must be finite and >= 0"),
    ({"--refine-steps": "-1"}, "refine steps must be >= 0"),
])
def test_cli_errors_are_one_line_with_exit_2(tiny_models, files, capsys, change, message):
    tmp_path, _, _ = files
    args = {"--model": "tiny", "--image": str(tmp_path / "in.png"), "--mask": str(tmp_path / "mask.png"),
            "--out": str(tmp_path / "out.png"), "--models-dir": tiny_models[0], "--steps": "3"}
    args.update({k: (str(tmp_path / v) if k in ("--image", "--mask") else v) for k, v in change.items()})
    code = cli.main([x for kv in args.items() for x in kv] + ["--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "\n" not in err and "Traceback" not in err


def test_cli_refuses_mask_of_another_size(tiny_models, files, capsys):
    tmp_path, _, _ = files
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "mask.png")
    assert run_cli(tiny_models[0], tmp_path) == 2
    assert "mask is 8x8 but the image is 16x16" in capsys.readouterr().err


def test_cli_bad_flag_exits_2_in_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "app.engine.cli", "--model", "x"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "required" in proc.stderr
