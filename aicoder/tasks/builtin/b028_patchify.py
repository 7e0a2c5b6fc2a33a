# domain: Computer Vision

# function_import --------------------

import torch

# function_code --------------------

def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """
    Cut images into non-overlapping square patches and flatten each, as a Vision Transformer
    does before its linear embedding.

    Args:
        images (torch.Tensor): (batch, channels, height, width); height and width are
            multiples of patch_size.
        patch_size (int): the side of a patch.

    Returns:
        torch.Tensor: (batch, num_patches, channels * patch_size * patch_size), patches in
            row-major order (left to right, then top to bottom); each patch flattened as
            (channels, patch_row, patch_col).

    Raises:
        ValueError: the image size is not a multiple of patch_size.
    """
    b, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"image size {h}x{w} is not a multiple of {patch_size}")
    p = patch_size
    x = images.reshape(b, c, h // p, p, w // p, p)
    x = x.permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // p) * (w // p), c * p * p)

# test_function_code --------------------

def test_patchify():
    images = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    out = patchify(images, 2)
    assert out.shape == (2, 6, 12)
    assert torch.equal(out[0, 0], images[0, :, 0:2, 0:2].reshape(-1))
    assert torch.equal(out[1, 4], images[1, :, 2:4, 2:4].reshape(-1))
    try:
        patchify(torch.zeros(1, 3, 5, 4), 2)
        raised = False
    except ValueError:
        raised = True
    assert raised
    return 'All Tests Passed'

# call_test_function_code --------------------

test_patchify()
