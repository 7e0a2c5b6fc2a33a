# domain: Natural Language Processing

# function_import --------------------

import math

import torch
from transformers import GPT2Config, GPT2LMHeadModel

# function_code --------------------

def perplexity(model: GPT2LMHeadModel, input_ids: torch.Tensor) -> float:
    """
    The perplexity of a causal language model on one sequence: exp of the mean negative
    log-likelihood of each token given the ones before it (the first token is not predicted).

    Args:
        model (GPT2LMHeadModel): the model (evaluation mode is the caller's choice).
        input_ids (torch.Tensor): (1, length) with length >= 2.

    Returns:
        float: the perplexity, a Python float >= 1.
    """
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits[:, :-1, :]
        targets = input_ids[:, 1:]
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                                targets.reshape(-1))
    return math.exp(nll.item())

# test_function_code --------------------

def test_perplexity():
    print("Testing started.")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=40, n_positions=32, n_embd=16, n_layer=1,
                                       n_head=2)).eval()
    ids = torch.randint(0, 40, (1, 12))

    # Test case 1: agrees with the model's own loss
    print("Testing case [1/3] started.")
    with torch.no_grad():
        expected = math.exp(model(input_ids=ids, labels=ids).loss.item())
    assert abs(perplexity(model, ids) - expected) < 1e-3, "Test case [1/3] failed"

    # Test case 2: a Python float of at least 1
    print("Testing case [2/3] started.")
    value = perplexity(model, ids)
    assert isinstance(value, float) and value >= 1.0, f"Test case [2/3] failed: {value!r}"

    # Test case 3: a random model is about as perplexed as the vocabulary is large
    print("Testing case [3/3] started.")
    assert 10 < value < 200, f"Test case [3/3] failed: {value}"
    print("Testing finished.")

# call_test_function_code --------------------

test_perplexity()
