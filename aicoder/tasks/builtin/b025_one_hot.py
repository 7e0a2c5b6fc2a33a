# domain: Other

# function_import --------------------

import torch

# function_code --------------------

def one_hot_labels(labels: torch.Tensor, num_classes: int, ignore_index: int = -100
                   ) -> torch.Tensor:
    """
    One-hot encode class labels, leaving an all-zero row for ignored positions (the
    `ignore_index` convention of PyTorch losses and HuggingFace tokenizers' padding labels).

    Args:
        labels (torch.Tensor): int64 labels of any shape.
        num_classes (int): the number of classes.
        ignore_index (int): the label that marks a position to ignore.

    Returns:
        torch.Tensor: float32, shape labels.shape + (num_classes,).
    """
    valid = labels != ignore_index
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    encoded = torch.nn.functional.one_hot(safe, num_classes).float()
    return encoded * valid.unsqueeze(-1).float()

# test_function_code --------------------

def test_one_hot_labels():
    out = one_hot_labels(torch.tensor([2, 0]), 3)
    assert out.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    assert out.dtype == torch.float32
    masked = one_hot_labels(torch.tensor([[1, -100]]), 2)
    assert masked.shape == (1, 2, 2) and masked[0, 1].sum() == 0
    assert one_hot_labels(torch.tensor([0, 5]), 3, ignore_index=5)[1].sum() == 0
    return 'All Tests Passed'

# call_test_function_code --------------------

test_one_hot_labels()
