# domain: Natural Language Processing

# function_import --------------------

import torch

# function_code --------------------

def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """
    Sentence embeddings by mean pooling, as sentence-transformers computes them: the average
    of the token embeddings where the attention mask is 1.

    Args:
        last_hidden_state (torch.Tensor): (batch, tokens, hidden).
        attention_mask (torch.Tensor): (batch, tokens), 1 for real tokens, 0 for padding.

    Returns:
        torch.Tensor: (batch, hidden). A row whose mask is all zeros gives zeros, not NaN.
    """
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    summed = (last_hidden_state * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp_min(1e-9)
    return summed / counts

# test_function_code --------------------

def test_mean_pool():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))
    assert mean_pool(torch.randn(4, 5, 8), torch.ones(4, 5, dtype=torch.long)).shape == (4, 8)
    assert not torch.isnan(mean_pool(torch.randn(1, 3, 2), torch.zeros(1, 3, dtype=torch.long))).any()
    x = torch.randn(2, 6, 4)
    full = torch.ones(2, 6, dtype=torch.long)
    assert torch.allclose(mean_pool(x, full), x.mean(dim=1), atol=1e-6)
    return 'All Tests Passed'

# call_test_function_code --------------------

test_mean_pool()
