# domain: Natural Language Processing

# function_import --------------------

import torch

# function_code --------------------

def pad_token_ids(sequences: list[list[int]], pad_id: int = 0, max_length: int | None = None
                  ) -> dict[str, torch.Tensor]:
    """
    Batch token id lists the way a tokenizer's padding does: right padding, truncation to
    max_length, and the matching attention mask.

    Args:
        sequences (list[list[int]]): token ids of each example (possibly empty).
        pad_id (int): the id used for padding.
        max_length (int | None): truncate longer sequences to this length; by default the
            longest sequence's length.

    Returns:
        dict[str, torch.Tensor]: 'input_ids' and 'attention_mask', both int64 of shape
            (batch, length); the mask is 1 on real tokens and 0 on padding.
    """
    length = max((len(s) for s in sequences), default=0)
    if max_length is not None:
        length = min(length, max_length)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for i, seq in enumerate(sequences):
        seq = seq[:length]
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask}

# test_function_code --------------------

def test_pad_token_ids():
    batch = pad_token_ids([[5, 6, 7], [8]], pad_id=1)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["input_ids"].dtype == torch.long

    batch = pad_token_ids([[1, 2, 3, 4], [5]], max_length=2)
    assert batch["input_ids"].tolist() == [[1, 2], [5, 0]]

    batch = pad_token_ids([[], [3]])
    assert batch["attention_mask"].tolist() == [[0], [1]]
    return 'All Tests Passed'

# call_test_function_code --------------------

test_pad_token_ids()
