import os

from PIL import Image

from app.engine.model import load_model
from tests.conftest import make_tiny_model
from training.config import ModelConfig
from training.evaluate import code_report


def test_an_infogans_codes_are_read_by_the_judge_and_drawn(tmp_path):
    cfg = ModelConfig(arch="infogan", image_shape=(28, 28, 1), latent_dim=8, num_classes=3, num_continuous=2,
                      g_filters=(16, 8), d_filters=(8, 16))
    make_tiny_model(tmp_path / "models", str(tmp_path / "run"), "info", cfg)
    model = load_model(str(tmp_path / "models"), "info")
    folder = str(tmp_path / "models" / "info")
    report = code_report(model, folder, per_code=20, values=5, rows=2)
    assert len(report["digit_of_category"]) == 3 and all(0 <= d <= 9 for d in report["digit_of_category"])
    assert all(0.0 < p <= 1.0 for p in report["purity"]) and 1 <= report["distinct_digits"] <= 3
    with Image.open(os.path.join(folder, "codes_grid.png")) as grid:
        assert grid.size[0] > grid.size[1] / 2, "5 values across, 2 codes x 2 rows down"
