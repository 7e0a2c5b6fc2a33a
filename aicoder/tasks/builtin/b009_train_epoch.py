# domain: Other

# function_import --------------------

import torch
from torch import nn

# function_code --------------------

def train_one_epoch(model: nn.Module, batches: list, optimizer: torch.optim.Optimizer,
                    loss_fn: nn.Module) -> float:
    """
    Run one training epoch over a list of (inputs, targets) batches.

    The model is put in training mode; for each batch the gradients are reset, the loss is
    computed, back-propagated and the optimizer steps.

    Args:
        model (nn.Module): the model to train.
        batches (list): (inputs, targets) tensor pairs.
        optimizer (torch.optim.Optimizer): the optimizer over the model's parameters.
        loss_fn (nn.Module): e.g. nn.MSELoss().

    Returns:
        float: the mean of the batch losses, as a Python float.
    """
    model.train()
    total = 0.0
    for inputs, targets in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / max(len(batches), 1)

# test_function_code --------------------

def test_train_one_epoch():
    print("Testing started.")
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    # Test case 1: returns the mean loss as a float
    print("Testing case [1/3] started.")
    model.eval()
    first = train_one_epoch(model, batches, optimizer, nn.MSELoss())
    assert isinstance(first, float), f"Test case [1/3] failed: got {type(first)}"

    # Test case 2: the model was put in training mode and its weights changed
    print("Testing case [2/3] started.")
    before = model.weight.detach().clone()
    train_one_epoch(model, batches, optimizer, nn.MSELoss())
    assert model.training, "Test case [2/3] failed: the model is not in training mode"
    assert not torch.equal(before, model.weight), "Test case [2/3] failed: weights unchanged"

    # Test case 3: the loss falls over epochs
    print("Testing case [3/3] started.")
    for _ in range(10):
        last = train_one_epoch(model, batches, optimizer, nn.MSELoss())
    assert last < first / 10, f"Test case [3/3] failed: loss {first:.3f} -> {last:.3f}"
    print("Testing finished.")

# call_test_function_code --------------------

test_train_one_epoch()
