# Pictures and what Keras 2's load_img(path, color_mode, target_size) + img_to_array make of them, for ImagesTests.
# Keras (keras_preprocessing.image.utils.load_img) opens the file with Pillow, converts it to 'L', 'RGB' or 'RGBA',
# then resizes it with Image.NEAREST (its default interpolation); this script does the same with Debian's Pillow:
#   cd tests/NetGen.Runtime.Tests/Fixtures/images && /usr/bin/python3 make_images.py
import random
from PIL import Image

random.seed(7)
W, H = 7, 5

def pixels(mode):
    n = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    return [tuple(random.randrange(256) for _ in range(n)) if n > 1 else random.randrange(256) for _ in range(W * H)]

def save(name, mode, fmt, **kw):
    img = Image.new(mode, (W, H))
    img.putdata(pixels(mode))
    img.save(name, fmt, **kw)

save("rgb.png", "RGB", "PNG")
save("grey.png", "L", "PNG")
save("rgba.png", "RGBA", "PNG")
save("rgb.bmp", "RGB", "BMP")
save("rgb.jpg", "RGB", "JPEG", quality=95, subsampling=0)
pal = Image.new("RGB", (W, H))
pal.putdata(pixels("RGB"))
pal.convert("P", palette=Image.ADAPTIVE, colors=16).save("palette.gif", "GIF")

with open("expected.txt", "w") as out:
    for name in ["rgb.png", "grey.png", "rgba.png", "rgb.bmp", "rgb.jpg", "palette.gif"]:
        for mode in ["L", "RGB", "RGBA"]:
            for size in [None, (3, 4), (11, 9)]:  # (height, width), as Keras's target_size
                img = Image.open(name).convert(mode)
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.NEAREST)
                values = list(img.tobytes())
                out.write(f"{name} {mode} {img.size[1]} {img.size[0]} {' '.join(map(str, values))}\n")
