# domain: Computer Vision

# function_import --------------------

from PIL import Image

# function_code --------------------

def resize_and_center_crop(image: Image.Image, size: int) -> Image.Image:
    """
    The usual classifier preprocessing: resize so that the shorter side equals `size`
    (keeping the aspect ratio, bilinear), then cut the central `size` x `size` square.

    Args:
        image (PIL.Image.Image): the input image.
        size (int): the side of the output square.

    Returns:
        PIL.Image.Image: a `size` x `size` image.
    """
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    image = image.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return image.crop((left, top, left + size, top + size))

# test_function_code --------------------

def test_resize_and_center_crop():
    wide = Image.new("RGB", (400, 200), (0, 0, 0))
    wide.paste((255, 255, 255), (150, 0, 250, 200))  # a white band in the middle
    out = resize_and_center_crop(wide, 100)
    assert out.size == (100, 100)
    assert out.getpixel((50, 50)) == (255, 255, 255)
    assert out.getpixel((2, 50))[0] < 30
    assert resize_and_center_crop(Image.new("RGB", (64, 300)), 32).size == (32, 32)
    assert resize_and_center_crop(Image.new("L", (10, 10)), 10).mode == "L"
    return 'All Tests Passed'

# call_test_function_code --------------------

test_resize_and_center_crop()
