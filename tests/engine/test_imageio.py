

def test_exif_orientation_is_applied_as_browsers_do():
    import io

    import numpy as np
    from PIL import Image

    from app.engine import imageio
    pixels = np.zeros((20, 40, 3), np.uint8)      # 40 wide, 20 high, a white left column
    pixels[:, :4] = 255
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6                               # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    out = imageio.decode(buf.getvalue(), 3)
    assert out.shape == (40, 20, 3), "shown upright: 20 wide, 40 high"
    assert out[:4].mean() > 200 and out[-4:].mean() < 50, "the white column is now the top row"
