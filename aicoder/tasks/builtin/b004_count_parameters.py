# function_import --------------------

import torch
from torch import nn

# function_code --------------------

def count_trainable_parameters(model: nn.Module) -> int:
    """
    Count the parameters of a PyTorch model that the optimizer would update.

    Parameters with requires_grad=False (a frozen backbone) are not counted, and a
    parameter shared by two layers counts once.

    Args:
        model (nn.Module): the model.

    Returns:
        int: the number of trainable scalar parameters.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

# test_function_code --------------------

def test_count_trainable_parameters():
    # Test case 1: a single linear layer
    model = nn.Linear(10, 5)
    assert count_trainable_parameters(model) == 55

    # Test case 2: a frozen layer is not counted
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad = False
    assert count_trainable_parameters(model) == 10

    # Test case 3: tied weights count once
    emb = nn.Embedding(100, 8)
    head = nn.Linear(8, 100, bias=False)
    head.weight = emb.weight
    assert count_trainable_parameters(nn.ModuleList([emb, head])) == 800
    return 'All Tests Passed'

# call_test_function_code --------------------

test_count_trainable_parameters()
