# domain: Computer Vision

# function_import --------------------

import torch

# function_code --------------------

def collate_images(batch: list[dict]) -> dict:
    """
    A DataLoader collate function for image classification: stack the 'pixel_values' tensors
    (all of shape (3, H, W)) into one batch tensor and the int 'label's into an int64 tensor.

    Args:
        batch (list[dict]): items like {'pixel_values': Tensor(3, H, W), 'label': int}.

    Returns:
        dict: {'pixel_values': Tensor(B, 3, H, W), 'labels': LongTensor(B)}.

    Raises:
        ValueError: the batch is empty.
    """
    if not batch:
        raise ValueError("empty batch")
    return {"pixel_values": torch.stack([item["pixel_values"] for item in batch]),
            "labels": torch.tensor([item["label"] for item in batch], dtype=torch.long)}

# test_function_code --------------------

def test_collate_images():
    print("Testing started.")
    items = [{"pixel_values": torch.full((3, 4, 4), float(i)), "label": i} for i in range(3)]

    # Test case 1: shapes and dtypes
    print("Testing case [1/3] started.")
    out = collate_images(items)
    assert out["pixel_values"].shape == (3, 3, 4, 4), "Test case [1/3] failed: pixel shape"
    assert out["labels"].dtype == torch.long, "Test case [1/3] failed: label dtype"

    # Test case 2: the order of the items is kept
    print("Testing case [2/3] started.")
    out = collate_images(items)
    assert out["labels"].tolist() == [0, 1, 2], "Test case [2/3] failed: labels"
    assert out["pixel_values"][2].mean().item() == 2.0, "Test case [2/3] failed: pixels"

    # Test case 3: an empty batch is an error
    print("Testing case [3/3] started.")
    raised = False
    try:
        collate_images([])
    except ValueError:
        raised = True
    assert raised, "Test case [3/3] failed: no error for an empty batch"
    print("Testing finished.")

# call_test_function_code --------------------

test_collate_images()
