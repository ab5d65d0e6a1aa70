// Hole presets, mirrored from PRESET_BOXES in app/engine/masks.py (a test checks they agree).
// Boxes are [top, left, bottom, right] as fractions of the side.
export const PRESET_BOXES = {
  center: [0.25, 0.25, 0.75, 0.75],
  left: [0.0, 0.0, 1.0, 0.5],
  right: [0.0, 0.5, 1.0, 1.0],
  top: [0.0, 0.0, 0.5, 1.0],
  bottom: [0.5, 0.0, 1.0, 1.0],
  eyes: [0.34, 0.125, 0.53, 0.875],
  mouth: [0.70, 0.125, 0.90, 0.875],
};
export const RANDOM_PRESETS = { random80: 0.8 };

/** A hole (Uint8Array, 1 = hole, row-major size x size) for a preset. */
export function presetHole(name, size) {
  const hole = new Uint8Array(size * size);
  if (name in PRESET_BOXES) {
    const [top, left, bottom, right] = PRESET_BOXES[name].map((f) => Math.round(f * size));
    for (let y = top; y < bottom; y++) for (let x = left; x < right; x++) hole[y * size + x] = 1;
  } else if (name in RANDOM_PRESETS) {
    for (let i = 0; i < hole.length; i++) hole[i] = Math.random() < RANDOM_PRESETS[name] ? 1 : 0;
  } else {
    throw new Error(`unknown preset ${name}`);
  }
  return hole;
}
