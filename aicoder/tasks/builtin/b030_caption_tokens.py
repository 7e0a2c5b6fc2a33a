# domain: Multimodal

# function_import --------------------

import torch

# function_code --------------------

def build_caption_inputs(image_features: torch.Tensor, caption_ids: list[list[int]],
                         pad_id: int, image_token_id: int) -> dict:
    """
    Assemble the inputs of a captioning model that prefixes each caption with image tokens:
    `num_image_tokens` copies of `image_token_id` (one per image feature row), then the
    caption, right-padded with `pad_id`. Labels are the input ids with -100 on the image
    tokens and on the padding, so the loss covers the caption only.

    Args:
        image_features (torch.Tensor): (batch, num_image_tokens, dim).
        caption_ids (list[list[int]]): one list of token ids per image.
        pad_id (int): the padding id.
        image_token_id (int): the placeholder id of an image token.

    Returns:
        dict: 'input_ids', 'attention_mask', 'labels', all int64 (batch, num_image_tokens +
            longest caption).
    """
    batch, n_img, _ = image_features.shape
    longest = max((len(c) for c in caption_ids), default=0)
    ids = torch.full((batch, n_img + longest), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    ids[:, :n_img] = image_token_id
    mask[:, :n_img] = 1
    for i, caption in enumerate(caption_ids):
        end = n_img + len(caption)
        ids[i, n_img:end] = torch.tensor(caption, dtype=torch.long)
        mask[i, n_img:end] = 1
        labels[i, n_img:end] = torch.tensor(caption, dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}

# test_function_code --------------------

def test_build_caption_inputs():
    print("Testing started.")
    features = torch.zeros(2, 3, 8)
    out = build_caption_inputs(features, [[5, 6], [7]], pad_id=0, image_token_id=99)

    # Test case 1: image tokens first, then the caption, then padding
    print("Testing case [1/3] started.")
    assert out["input_ids"].tolist() == [[99, 99, 99, 5, 6], [99, 99, 99, 7, 0]], \
        f"Test case [1/3] failed: {out['input_ids'].tolist()}"

    # Test case 2: the loss sees the caption only
    print("Testing case [2/3] started.")
    assert out["labels"].tolist() == [[-100, -100, -100, 5, 6], [-100, -100, -100, 7, -100]], \
        f"Test case [2/3] failed: {out['labels'].tolist()}"

    # Test case 3: the attention mask covers image and caption, not padding
    print("Testing case [3/3] started.")
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], \
        "Test case [3/3] failed"
    print("Testing finished.")

# call_test_function_code --------------------

test_build_caption_inputs()
