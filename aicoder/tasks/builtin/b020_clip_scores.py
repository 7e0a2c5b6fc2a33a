# domain: Multimodal

# function_import --------------------

import torch

# function_code --------------------

def zero_shot_probabilities(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                            logit_scale: float = 100.0) -> torch.Tensor:
    """
    CLIP-style zero-shot classification from precomputed embeddings: cosine similarity of
    each image with each label text, multiplied by `logit_scale`, softmax over the labels.

    Args:
        image_embeds (torch.Tensor): (images, dim), not necessarily normalised.
        text_embeds (torch.Tensor): (labels, dim), not necessarily normalised.
        logit_scale (float): the temperature CLIP learned (100 for the released models).

    Returns:
        torch.Tensor: (images, labels) probabilities; each row sums to 1.
    """
    image = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
    text = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
    return (logit_scale * image @ text.T).softmax(dim=-1)

# test_function_code --------------------

def test_zero_shot_probabilities():
    torch.manual_seed(0)
    texts = torch.randn(3, 16)
    images = texts[[2, 0]] * 5 + 0.01 * torch.randn(2, 16)  # scaled copies of labels 2 and 0
    probs = zero_shot_probabilities(images, texts)
    assert probs.shape == (2, 3)
    assert torch.allclose(probs.sum(dim=-1), torch.ones(2))
    assert probs.argmax(dim=-1).tolist() == [2, 0]
    flat = zero_shot_probabilities(images, texts, logit_scale=0.0)
    assert torch.allclose(flat, torch.full((2, 3), 1 / 3))
    # known cosines: image 0 is at 0.6 / 0.8 of the two labels, image 1 on label 1; the
    # embeddings are not unit length, so each must be normalised on its own row
    texts = torch.tensor([[3.0, 0.0], [0.0, 3.0]])
    images = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    probs = zero_shot_probabilities(images, texts, logit_scale=10.0)
    expected = torch.tensor([[6.0, 8.0], [0.0, 10.0]]).softmax(dim=-1)
    assert torch.allclose(probs, expected, atol=1e-5)
    return 'All Tests Passed'

# call_test_function_code --------------------

test_zero_shot_probabilities()
