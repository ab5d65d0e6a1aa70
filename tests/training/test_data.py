import numpy as np
import pytest
from PIL import Image

from tests.conftest import DATA_DIR, needs_shared_data
from training import data


def test_folder_loader_crops_resizes_and_skips_corrupt_files(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 256, (30, 30), dtype=np.uint8)).save(tmp_path / "sub" / "b.jpg")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match="skipping unreadable image .*broken.png"):
        ds = data.load_folder(str(tmp_path), size=16)
    assert ds.images.shape == (2, 16, 16, 3) and ds.images.dtype == np.uint8
    assert ds.flip


def test_folder_without_images_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no readable images"):
        data.load_folder(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        data.load_folder(str(tmp_path / "missing"))


def test_missing_or_corrupt_npz_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        data.load_mnist(str(tmp_path))
    (tmp_path / "mnist.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable npz"):
        data.load_mnist(str(tmp_path))
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="lacks the keys"):
        data.load_mnist(str(tmp_path))


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load_dataset("cifar")


def test_pipeline_scales_to_unit_range_and_batches():
    images = np.stack([np.full((8, 8, 1), v, np.uint8) for v in (0, 255, 0, 255, 0)])
    ds = data.Dataset("toy", images, np.arange(5, dtype=np.int32), num_classes=5)
    x, y = next(iter(data.make_pipeline(ds, 4)))
    assert x.shape == (4, 8, 8, 1) and y.shape == (4,)
    assert set(np.unique(x.numpy())) <= {-1.0, 1.0}


@needs_shared_data
def test_real_datasets_load():
    mnist = data.load_mnist(DATA_DIR)
    assert mnist.images.shape == (60000, 28, 28, 1) and mnist.num_classes == 10
    faces = data.load_faces(DATA_DIR)
    assert faces.images.shape == (9000, 64, 64, 3) and faces.flip
