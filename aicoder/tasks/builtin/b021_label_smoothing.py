# domain: Other

# function_import --------------------

import torch

# function_code --------------------

def label_smoothing_loss(logits: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.1
                         ) -> torch.Tensor:
    """
    Cross-entropy with label smoothing, written out: the target distribution puts
    1 - smoothing + smoothing / classes on the true class and smoothing / classes elsewhere.

    Args:
        logits (torch.Tensor): (batch, classes).
        targets (torch.Tensor): (batch,) int64 class indices.
        smoothing (float): in [0, 1).

    Returns:
        torch.Tensor: the mean loss over the batch, a scalar that keeps the autograd graph.
    """
    classes = logits.size(-1)
    log_probs = logits.log_softmax(dim=-1)
    target = torch.full_like(log_probs, smoothing / classes)
    target.scatter_(1, targets.unsqueeze(1), 1 - smoothing + smoothing / classes)
    return -(target * log_probs).sum(dim=-1).mean()

# test_function_code --------------------

def test_label_smoothing_loss():
    torch.manual_seed(0)
    logits = torch.randn(8, 5, requires_grad=True)
    targets = torch.randint(0, 5, (8,))
    loss = label_smoothing_loss(logits, targets, 0.1)
    expected = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)
    assert torch.allclose(loss, expected, atol=1e-6)
    assert loss.dim() == 0
    loss.backward()
    assert logits.grad is not None
    plain = torch.nn.functional.cross_entropy(logits, targets)
    assert torch.allclose(label_smoothing_loss(logits, targets, 0.0), plain, atol=1e-6)
    return 'All Tests Passed'

# call_test_function_code --------------------

test_label_smoothing_loss()
