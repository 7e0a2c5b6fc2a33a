# domain: Natural Language Processing

# function_import --------------------

import torch
from transformers import BertConfig, BertForSequenceClassification

# function_code --------------------

def build_tiny_text_classifier(vocab_size: int, num_labels: int) -> BertForSequenceClassification:
    """
    Build a small, randomly initialised BERT sequence classifier from a config (no download):
    2 layers, hidden size 32, 2 attention heads, intermediate size 64, at most 128 positions.

    Args:
        vocab_size (int): size of the tokenizer's vocabulary.
        num_labels (int): number of classes.

    Returns:
        BertForSequenceClassification: the model, in evaluation mode.
    """
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128, num_labels=num_labels)
    return BertForSequenceClassification(config).eval()

# test_function_code --------------------

def test_build_tiny_text_classifier():
    print("Testing started.")
    model = build_tiny_text_classifier(vocab_size=100, num_labels=3)

    # Test case 1: the logits have one column per label
    print("Testing case [1/3] started.")
    with torch.no_grad():
        logits = model(input_ids=torch.randint(0, 100, (2, 10))).logits
    assert logits.shape == (2, 3), f"Test case [1/3] failed: shape {tuple(logits.shape)}"

    # Test case 2: the architecture is the small one asked for
    print("Testing case [2/3] started.")
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 32, \
        "Test case [2/3] failed: wrong size"
    assert sum(p.numel() for p in model.parameters()) < 100_000, "Test case [2/3] failed: too big"

    # Test case 3: evaluation mode, so the same input gives the same output
    print("Testing case [3/3] started.")
    ids = torch.randint(0, 100, (1, 8))
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits), \
            "Test case [3/3] failed: dropout is active"
    print("Testing finished.")

# call_test_function_code --------------------

test_build_tiny_text_classifier()
