# domain: Natural Language Processing

# function_import --------------------

import torch

# function_code --------------------

def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """
    Filter next-token logits before sampling, as `generate` does: keep the `top_k` largest
    (0 keeps all), then the smallest set of tokens whose probability adds up to at least
    `top_p` (1.0 keeps all). Removed entries become -inf; the best token is always kept.

    Args:
        logits (torch.Tensor): (batch, vocab).
        top_k (int): how many tokens to keep, 0 for no limit.
        top_p (float): nucleus mass in (0, 1].

    Returns:
        torch.Tensor: filtered logits of the same shape.
    """
    logits = logits.clone()
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[..., -1, None]
        logits[logits < kth] = float("-inf")
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cumulative - sorted_logits.softmax(dim=-1) >= top_p
        remove[..., 0] = False
        logits[remove.scatter(1, order, remove)] = float("-inf")
    return logits

# test_function_code --------------------

def test_top_k_top_p_filter():
    logits = torch.tensor([[3.0, 1.0, 2.0, 0.0]])
    kept = top_k_top_p_filter(logits, top_k=2)
    assert torch.isfinite(kept).tolist() == [[True, False, True, False]]
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    nucleus = top_k_top_p_filter(probs, top_p=0.75)
    assert torch.isfinite(nucleus).tolist() == [[True, True, False, False]]
    assert torch.isfinite(top_k_top_p_filter(probs, top_p=0.01)).sum().item() == 1
    assert torch.equal(top_k_top_p_filter(logits), logits)
    return 'All Tests Passed'

# call_test_function_code --------------------

test_top_k_top_p_filter()
