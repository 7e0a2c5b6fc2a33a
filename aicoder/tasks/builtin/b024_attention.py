# domain: Natural Language Processing

# function_import --------------------

import math

import torch

# function_code --------------------

def attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    """
    Scaled dot-product attention written out, as in "Attention Is All You Need".

    Args:
        query (torch.Tensor): (..., q_len, d).
        key (torch.Tensor): (..., k_len, d).
        value (torch.Tensor): (..., k_len, d_v).
        mask (torch.Tensor | None): boolean (..., q_len, k_len), True where attention is
            allowed; None allows everything.

    Returns:
        torch.Tensor: (..., q_len, d_v).
    """
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ value

# test_function_code --------------------

def test_attention():
    print("Testing started.")
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 3)

    # Test case 1: matches PyTorch's fused implementation
    print("Testing case [1/3] started.")
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert torch.allclose(attention(q, k, v), expected, atol=1e-5), "Test case [1/3] failed"

    # Test case 2: a boolean mask is honoured
    print("Testing case [2/3] started.")
    mask = torch.rand(5, 6) > 0.3
    mask[:, 0] = True
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(attention(q, k, v, mask), expected, atol=1e-5), "Test case [2/3] failed"

    # Test case 3: the output shape follows the value's last dimension
    print("Testing case [3/3] started.")
    assert attention(q, k, v).shape == (2, 4, 5, 3), "Test case [3/3] failed"
    print("Testing finished.")

# call_test_function_code --------------------

test_attention()
