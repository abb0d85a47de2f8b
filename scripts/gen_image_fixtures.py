#!/usr/bin/python3
"""Writes tests/fixtures/vision/images/: small PNG and JPEG files and what PIL (the reference)
decodes and resizes them to, for tests/vision/image_test.cc. Run with Debian's /usr/bin/python3.

Every reference is raw uint8 [H, W, C] in a .bin file; manifest.json lists the cases."""
import json
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vision", "images")
rng = np.random.default_rng(5)


def smooth(h, w, c):
    """A picture-like array: gradients plus a few blobs plus noise (JPEG-friendly, not flat)."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for k in range(c):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        blob = 200 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (0.1 * h * w))
        v = 30 + 150 * (x / max(w - 1, 1)) * (k % 2) + 120 * (y / max(h - 1, 1)) * ((k + 1) % 2)
        planes.append(np.clip(v * 0.5 + blob + rng.normal(0, 12, (h, w)), 0, 255))
    return np.stack(planes, -1).round().astype(np.uint8)


def raw(name, arr):
    arr = np.ascontiguousarray(arr.reshape(arr.shape[0], arr.shape[1], -1).astype(np.uint8))
    arr.tofile(os.path.join(OUT, name))
    return {"file": name, "height": arr.shape[0], "width": arr.shape[1], "channels": arr.shape[2]}


def main():
    os.makedirs(OUT, exist_ok=True)
    decode, resize, grey = [], [], []

    def png(name, img, expect):
        img.save(os.path.join(OUT, name))
        decode.append({"image": name, "expect": raw(name + ".bin", expect)})

    rgb = smooth(23, 37, 3)
    png("rgb_23x37.png", Image.fromarray(rgb, "RGB"), rgb)
    g = smooth(20, 16, 1)[..., 0]
    png("grey_20x16.png", Image.fromarray(g, "L"), g)
    rgba = np.concatenate([smooth(13, 19, 3), rng.integers(0, 256, (13, 19, 1), dtype=np.uint8)], -1)
    png("rgba_13x19.png", Image.fromarray(rgba, "RGBA"), rgba)
    pal = Image.fromarray(smooth(12, 12, 3), "RGB").quantize(16)
    png("palette_12x12.png", pal, np.asarray(pal.convert("RGB")))
    # Grey + alpha: the reader expands it to RGBA.
    la = np.stack([g[:9, :11], rng.integers(0, 256, (9, 11), dtype=np.uint8)], -1)
    png("grey_alpha_9x11.png", Image.fromarray(la, "LA"),
        np.concatenate([la[..., :1]] * 3 + [la[..., 1:]], -1))
    # 16-bit grey: 8 bits are the 16-bit value / 257, rounded (no gamma change).
    g16 = (rng.integers(0, 65536, (8, 10))).astype(np.uint16)
    Image.fromarray(g16.astype(np.int32)).convert("I;16").save(os.path.join(OUT, "grey16_8x10.png"))
    decode.append({"image": "grey16_8x10.png",
                   "expect": raw("grey16_8x10.png.bin", np.round(g16 / 257.0).astype(np.uint8))})

    for name, arr, mode in [("rgb_30x40.jpg", smooth(30, 40, 3), "RGB"),
                            ("grey_24x24.jpg", smooth(24, 24, 1)[..., 0], "L")]:
        Image.fromarray(arr, mode).save(os.path.join(OUT, name), quality=90)
        decoded = np.asarray(Image.open(os.path.join(OUT, name)))
        decode.append({"image": name, "expect": raw(name + ".bin", decoded)})

    # EXIF orientations 1-8 (as phones write them): decoded upright as PIL's exif_transpose.
    from PIL import ImageOps
    base = Image.fromarray(smooth(6, 10, 3), "RGB")
    for o in range(1, 9):
        name = f"orient_{o}.jpg"
        exif = Image.Exif()
        exif[0x0112] = o
        base.save(os.path.join(OUT, name), quality=95, exif=exif.tobytes())
        upright = ImageOps.exif_transpose(Image.open(os.path.join(OUT, name)))
        decode.append({"image": name, "expect": raw(name + ".bin", np.asarray(upright))})

    # Resizing with PIL's BILINEAR filter (widened when shrinking), grey and colour, both ways.
    for src, mode, sizes in [("rgb_23x37.png", "RGB", [(28, 28), (11, 7), (50, 64)]),
                             ("grey_20x16.png", "L", [(28, 28), (5, 4), (20, 33)]),
                             ("rgb_30x40.jpg", "RGB", [(28, 28)])]:
        im = Image.open(os.path.join(OUT, src)).convert(mode)
        for h, w in sizes:
            out = np.asarray(im.resize((w, h), Image.BILINEAR))
            resize.append({"image": src, "height": h, "width": w,
                           "expect": raw(f"{src}.resize_{h}x{w}.bin", out)})

    # Grey conversion: ITU-R 601 luma (PIL's "L"); alpha composited over black first.
    for src in ["rgb_23x37.png", "rgba_13x19.png", "palette_12x12.png", "rgb_30x40.jpg"]:
        im = Image.open(os.path.join(OUT, src))
        if im.mode == "RGBA":
            black = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(black, im)
        grey.append({"image": src, "expect": raw(src + ".grey.bin", np.asarray(im.convert("L")))})

    # A photo-like JPEG of the first Fashion-MNIST test image (an ankle boot): dark on a light
    # background, in colour, larger, for the predict test (tests/vision_learning).
    import gzip
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        boot = 255 - np.frombuffer(f.read(16 + 784)[16:], np.uint8).reshape(28, 28)
    tint = np.stack([boot, boot, np.minimum(boot.astype(int) + 20, 255).astype(np.uint8)], -1)
    Image.fromarray(tint, "RGB").resize((140, 112), Image.BILINEAR).save(
        os.path.join(OUT, "boot_light_112x140.jpg"), quality=85)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"decode": decode, "resize": resize, "grey": grey}, f, indent=1)


if __name__ == "__main__":
    main()
