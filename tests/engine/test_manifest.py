"""The model format: one reader and writer, strict about what it reads."""
import json
import os
import shutil

import pytest

from app.engine import manifest as model_format
from app.engine.model import load_model


def copy_model(tiny_models, tmp_path, edit):
    """A copy of the tiny model whose manifest.json went through edit(dict)."""
    folder = tmp_path / "models" / "tiny"
    shutil.copytree(f"{tiny_models[0]}/tiny", folder)
    path = folder / model_format.FILE
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return str(tmp_path / "models"), str(folder)


def test_a_manifest_reads_back_as_written(tiny_models, tmp_path):
    m = model_format.read(f"{tiny_models[0]}/tiny")
    assert m.weights == {"generator": "generator.weights.h5", "discriminator": "discriminator.weights.h5"}
    assert all(os.path.getsize(f"{tiny_models[0]}/tiny/{name}") > 0 for name in m.weights.values())
    folder = tmp_path / "copy"
    folder.mkdir()
    model_format.write(str(folder), m)
    assert model_format.read(str(folder)) == m
    assert json.loads((folder / model_format.FILE).read_text())["format"] == model_format.FORMAT


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(format=2), "format 2, but this Regen reads format 1"),
    (lambda d: d.pop("format"), "lacks .format."),
    (lambda d: d.update(colour="blue"), r"unknown keys \['colour'\]"),
    (lambda d: d.pop("latent_dim"), "lacks 'latent_dim'"),
    (lambda d: d["graphs"].pop("discriminator"), "graphs lacks the discriminator"),
    (lambda d: d.update(image_shape=[16, 16, 2]), "image_shape must be"),
    (lambda d: d.update(perceptual="hinge"), "unknown perceptual term 'hinge'"),
    (lambda d: d.update(refine_steps=-3), "refine_steps must be an integer >= 0"),
    (lambda d: d.update(conditioning={"num_classes": 10, "offset": 5}), "does not fit latent_dim"),
    (lambda d: d.update(name="../evil"), "bad model name"),
])
def test_a_bad_manifest_is_refused_with_its_reason(tiny_models, tmp_path, edit, message):
    models_dir, folder = copy_model(tiny_models, tmp_path, edit)
    with pytest.raises(ValueError, match=message):
        model_format.read(folder)
    with pytest.raises(ValueError, match=message):
        load_model(models_dir, "tiny")


def test_a_folder_without_a_manifest(tmp_path):
    assert not model_format.has_manifest(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        model_format.read(str(tmp_path))


def test_a_broken_graph_file_is_a_value_error(tmp_path):
    bad = tmp_path / "g.pb"
    bad.write_bytes(b"\xff\x00 not a graph")
    with pytest.raises(ValueError, match="cannot read graph"):
        model_format.read_graph_def(str(bad))
