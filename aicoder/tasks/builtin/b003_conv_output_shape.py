# domain: Computer Vision

# function_import --------------------

import torch
from torch import nn

# function_code --------------------

def conv2d_output_shape(height: int, width: int, conv: nn.Conv2d) -> tuple[int, int]:
    """
    The spatial size a torch.nn.Conv2d layer produces for an input of the given size,
    computed from the layer's kernel_size, stride, padding and dilation (no forward pass).

    Args:
        height (int): input height in pixels.
        width (int): input width in pixels.
        conv (nn.Conv2d): the layer; its padding is a pair of ints.

    Returns:
        tuple[int, int]: (output height, output width).
    """
    sizes = []
    for i, size in enumerate((height, width)):
        k, s, p, d = conv.kernel_size[i], conv.stride[i], conv.padding[i], conv.dilation[i]
        sizes.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return sizes[0], sizes[1]

# test_function_code --------------------

def test_conv2d_output_shape():
    def actual(conv, h, w):
        return tuple(conv(torch.zeros(1, conv.in_channels, h, w)).shape[-2:])

    # Test case 1: a plain 3x3 convolution
    conv = nn.Conv2d(3, 8, kernel_size=3)
    assert conv2d_output_shape(32, 32, conv) == actual(conv, 32, 32)

    # Test case 2: stride and padding
    conv = nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=2)
    assert conv2d_output_shape(64, 48, conv) == actual(conv, 64, 48)

    # Test case 3: a rectangular kernel, per-axis stride and padding, and dilation
    conv = nn.Conv2d(1, 4, kernel_size=(3, 5), stride=(1, 2), padding=(1, 0), dilation=2)
    assert conv2d_output_shape(20, 31, conv) == actual(conv, 20, 31)

    # Test case 4: plain Python ints, not tensors
    assert all(type(v) is int for v in conv2d_output_shape(8, 8, nn.Conv2d(1, 1, 3)))
    return 'All Tests Passed'

# call_test_function_code --------------------

test_conv2d_output_shape()
