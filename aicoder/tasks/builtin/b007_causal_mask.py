# domain: Natural Language Processing

# function_import --------------------

import torch

# function_code --------------------

def causal_attention_bias(seq_len: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """
    The additive attention bias of a decoder-only transformer: position i may attend to
    positions 0..i only.

    Args:
        seq_len (int): the sequence length.
        dtype (torch.dtype): a floating dtype for the result.

    Returns:
        torch.Tensor: shape (seq_len, seq_len); 0 where attention is allowed and the most
            negative finite value of `dtype` where it is not (so softmax gives exactly 0).
    """
    blocked = torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)
    bias = torch.zeros(seq_len, seq_len, dtype=dtype)
    return bias.masked_fill(blocked, torch.finfo(dtype).min)

# test_function_code --------------------

def test_causal_attention_bias():
    print("Testing started.")

    # Test case 1: the lower triangle is open, the upper blocked
    print("Testing case [1/3] started.")
    bias = causal_attention_bias(3)
    assert bias.shape == (3, 3), f"Test case [1/3] failed: shape {tuple(bias.shape)}"
    assert bias[2, 0] == 0 and bias[1, 1] == 0, "Test case [1/3] failed: allowed cells"
    assert bias[0, 1] == torch.finfo(torch.float32).min, "Test case [1/3] failed: blocked cells"

    # Test case 2: softmax over a row gives zero weight to the future
    print("Testing case [2/3] started.")
    weights = torch.softmax(torch.zeros(4, 4) + causal_attention_bias(4), dim=-1)
    assert torch.allclose(weights[0], torch.tensor([1.0, 0.0, 0.0, 0.0])), "Test case [2/3] failed"

    # Test case 3: the dtype is honoured and nothing is infinite
    print("Testing case [3/3] started.")
    bias = causal_attention_bias(5, torch.float16)
    assert bias.dtype == torch.float16, "Test case [3/3] failed: dtype"
    assert torch.isfinite(bias).all(), "Test case [3/3] failed: infinite values"
    print("Testing finished.")

# call_test_function_code --------------------

test_causal_attention_bias()
