# domain: Computer Vision

# function_import --------------------

import numpy as np
import torch
from PIL import Image

# function_code --------------------

def image_to_tensor(image: Image.Image, mean: tuple = (0.485, 0.456, 0.406),
                    std: tuple = (0.229, 0.224, 0.225)) -> torch.Tensor:
    """
    Preprocess a PIL image for a vision model without torchvision: convert to RGB, scale to
    [0, 1], normalise each channel with `mean` and `std`, and put channels first.

    Args:
        image (PIL.Image.Image): any mode (RGB, L, RGBA, ...).
        mean (tuple): per-channel mean.
        std (tuple): per-channel standard deviation.

    Returns:
        torch.Tensor: float32, shape (3, height, width).
    """
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    array = (array - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()

# test_function_code --------------------

def test_image_to_tensor():
    print("Testing started.")

    # Test case 1: shape and dtype for an RGB image
    print("Testing case [1/3] started.")
    tensor = image_to_tensor(Image.new("RGB", (8, 5), (255, 0, 0)))
    assert tensor.shape == (3, 5, 8), f"Test case [1/3] failed: shape {tuple(tensor.shape)}"
    assert tensor.dtype == torch.float32, f"Test case [1/3] failed: dtype {tensor.dtype}"

    # Test case 2: the normalisation of a pure red pixel
    print("Testing case [2/3] started.")
    expected = torch.tensor([(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225])
    assert torch.allclose(tensor[:, 0, 0], expected, atol=1e-5), "Test case [2/3] failed"

    # Test case 3: a grayscale image becomes three equal channels
    print("Testing case [3/3] started.")
    gray = image_to_tensor(Image.new("L", (4, 4), 128), mean=(0, 0, 0), std=(1, 1, 1))
    assert gray.shape == (3, 4, 4) and torch.allclose(gray[0], gray[2]), "Test case [3/3] failed"
    print("Testing finished.")

# call_test_function_code --------------------

test_image_to_tensor()
