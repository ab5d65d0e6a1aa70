"""The Lab's gallery and its side-by-side comparison of feature networks.

    python -m bench.lab_gallery --out docs/lab [--steps 150] [--json bench/results/lab_style.json]

Every picture used ships with Regen or is generated here:
- content: models/faces/samples/000.png and 001.png and models/mnist/samples/003.png
  (the gallery's held-out real images, never trained on);
- style: models/mnist/grid.png and models/faces/grid.png (the models' sample grids),
  and a DeepDream of models/faces/grid.png made by this script (d:faces, conv2).

Style transfer runs each (content, style) pair on each feature choice and scores every
result in the same fixed spaces: the style distance, the relative Gram distance to the
style image in the random network's layers (r1-r4) and in the faces D's (its conv layers),
each the mean over layers (two of the arms minimise exactly one of these, so each is
also read in the other's space); the colour distance, the mean over
channels of the 1-Wasserstein distance between the result's and the style's pixel
values (0-255); and the content kept, PSNR against the content image.
"""
import argparse
import os
import sys

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from app.engine import imageio
from app.engine.dream import Dreamer, DreamParams
from app.engine.features import load_features
from app.engine.style import Stylist, StyleParams, gram
from bench.output import command_line, write_json

ARMS = [  # (label, features, histogram weight)
    ("random", "random", 0.0),
    ("random + histogram", "random", 10.0),
    ("d:faces", "d:faces", 0.0),
    ("d:mnist", "d:mnist", 0.0),
]


def gram_distance(net, a, b):
    """Mean over the net's layers of |G(a) - G(b)|^2 / |G(b)|^2; a, b (H, W, C) float in [-1, 1]."""
    fa, fb = net(tf.constant(a[None])), net(tf.constant(b[None]))
    terms = [float(tf.reduce_sum(tf.square(gram(fa[k]) - gram(fb[k]))) / tf.reduce_sum(tf.square(gram(fb[k]))))
             for k in net.layers]
    return float(np.mean(terms))


def colour_distance(a, b):
    """Mean over RGB of the 1-Wasserstein distance between two images' pixel values (uint8)."""
    q = np.linspace(0, 1, 257)
    return float(np.mean([np.abs(np.quantile(a[..., c], q) - np.quantile(b[..., c], q)).mean() for c in range(3)]))


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255 ** 2 / max(mse, 1e-10)))


def label(image, text, width):
    """An RGB tile `width` wide with a caption strip under the image."""
    tile = Image.fromarray(image).resize((width, width), Image.NEAREST if image.shape[0] < width else Image.BILINEAR)
    out = Image.new("RGB", (width, width + 16), (20, 22, 26))
    out.paste(tile, (0, 0))
    ImageDraw.Draw(out).text((3, width + 2), text, fill=(230, 230, 230))
    return out


def sheet(rows, path, width=128):
    """rows: [[(image uint8, caption)]] -> one PNG."""
    cols = max(len(r) for r in rows)
    out = Image.new("RGB", (cols * (width + 4), len(rows) * (width + 20)), (20, 22, 26))
    for i, row in enumerate(rows):
        for j, (image, text) in enumerate(row):
            out.paste(label(image, text, width), (j * (width + 4), i * (width + 20)))
    out.save(path)


def read_rgb(path):
    return imageio.read(path, 3)


def dreams(models_dir, out_dir):
    """A few dreams on shipped pictures; returns the dream of the faces grid used as a style."""
    grid = read_rgb(os.path.join(models_dir, "faces", "grid.png"))
    grid = imageio.to_uint8(imageio.resize(imageio.to_float(grid), (256, 256)))
    face = read_rgb(os.path.join(models_dir, "faces", "samples", "002.png"))
    face = imageio.to_uint8(imageio.resize(imageio.to_float(face), (192, 192)))
    row_grid, row_face = [(grid, "faces/grid.png")], [(face, "faces 002, 192px")]
    kept = None
    for spec, layer in [("d:faces", "conv1"), ("d:faces", "conv2"), ("d:faces", "conv3"), ("random", "r3")]:
        dreamer = Dreamer(load_features(spec, models_dir))
        for source, row in ((grid, row_grid), (face, row_face)):
            params = DreamParams(layer=layer, steps=12, step_size=0.03, octaves=3, seed=0)
            result = dreamer.dream(imageio.to_float(source), params).image
            row.append((result, f"{spec} {layer}"))
            if source is grid and (spec, layer) == ("d:faces", "conv2"):
                kept = result
    sheet([row_grid, row_face], os.path.join(out_dir, "dreams.png"), width=160)
    return kept


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.lab_gallery", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for the PNGs")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--json", default=None)
    p.add_argument("--models-dir", default="models")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    m = args.models_dir
    dreamed = dreams(m, args.out)
    Image.fromarray(dreamed).save(os.path.join(args.out, "style_dream_of_faces_grid.png"))
    pairs = [
        ("faces 000", read_rgb(f"{m}/faces/samples/000.png"), "mnist/grid.png", read_rgb(f"{m}/mnist/grid.png")),
        ("faces 001", read_rgb(f"{m}/faces/samples/001.png"), "dream of faces/grid", dreamed),
        ("mnist 003", read_rgb(f"{m}/mnist/samples/003.png"), "faces/grid.png", read_rgb(f"{m}/faces/grid.png")),
    ]
    judges = {"random": load_features("random", m), "d:faces": load_features("d:faces", m)}
    stylists = {spec: Stylist(load_features(spec, m)) for spec in {a[1] for a in ARMS}}
    rows, results = [], []
    for content_name, content, style_name, style_image in pairs:
        size = (args.size, args.size)
        c_big = imageio.to_uint8(imageio.resize(imageio.to_float(content), size))
        s_big = imageio.to_uint8(imageio.resize(imageio.to_float(style_image), size))
        row = [(c_big, content_name), (s_big, style_name)]
        for arm, spec, hist in ARMS:
            params = StyleParams(steps=args.steps, size=args.size, histogram_weight=hist)
            out = stylists[spec].transfer(imageio.to_float(content), imageio.to_float(style_image), params).image
            o, s = imageio.to_float(out), imageio.to_float(s_big)
            scores = {"content": content_name, "style": style_name, "arm": arm,
                      "gram_random": gram_distance(judges["random"], o, s),
                      "gram_d_faces": gram_distance(judges["d:faces"], o, s),
                      "colour_w1": colour_distance(out, s_big), "content_psnr": psnr(out, c_big)}
            results.append(scores)
            row.append((out, arm))
            print(f"{content_name} x {style_name} [{arm}]: Gram(random) {scores['gram_random']:.3f}  "
                  f"Gram(d:faces) {scores['gram_d_faces']:.3f}  colour W1 {scores['colour_w1']:.1f}  "
                  f"content PSNR {scores['content_psnr']:.1f} dB", file=sys.stderr)
        # the untouched content as the zero point of each score
        results.append({"content": content_name, "style": style_name, "arm": "(content itself)",
                        "gram_random": gram_distance(judges["random"], imageio.to_float(c_big), s),
                        "gram_d_faces": gram_distance(judges["d:faces"], imageio.to_float(c_big), s),
                        "colour_w1": colour_distance(c_big, s_big), "content_psnr": None})
        rows.append(row)
    sheet(rows, os.path.join(args.out, "style_compare.png"))
    write_json(args.json, {"steps": args.steps, "size": args.size, "results": results},
               command_line("bench.lab_gallery", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
