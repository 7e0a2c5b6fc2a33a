# domain: Computer Vision

# function_import --------------------

import torch

# function_code --------------------

def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """
    The fraction of examples whose true label is among the k highest-scoring classes, as
    image classifiers report top-1 and top-5 accuracy.

    Args:
        logits (torch.Tensor): shape (batch, classes).
        labels (torch.Tensor): shape (batch,), int64 class indices.
        k (int): how many top classes count; if k exceeds the number of classes every
            example counts as correct.

    Returns:
        float: a Python float in [0, 1]; 0.0 for an empty batch.
    """
    if logits.shape[0] == 0:
        return 0.0
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    hits = (top == labels[:, None]).any(dim=1)
    return hits.float().mean().item()

# test_function_code --------------------

def test_top_k_accuracy():
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.05, 0.15], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 2, 0])
    assert abs(top_k_accuracy(logits, labels, k=1) - 1 / 3) < 1e-6
    assert abs(top_k_accuracy(logits, labels, k=2) - 2 / 3) < 1e-6
    assert top_k_accuracy(logits, labels, k=10) == 1.0
    assert isinstance(top_k_accuracy(logits, labels, k=1), float)
    assert top_k_accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)) == 0.0
    return 'All Tests Passed'

# call_test_function_code --------------------

test_top_k_accuracy()
