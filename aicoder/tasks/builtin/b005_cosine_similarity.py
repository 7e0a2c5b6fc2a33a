# domain: Natural Language Processing

# function_import --------------------

import torch

# function_code --------------------

def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """
    Pairwise cosine similarity between two sets of embeddings, as used to rank sentence
    embeddings against a query.

    Args:
        a (torch.Tensor): shape (n, d).
        b (torch.Tensor): shape (m, d).
        eps (float): guards the division for all-zero vectors.

    Returns:
        torch.Tensor: shape (n, m); entry (i, j) is the cosine of a[i] and b[j], in [-1, 1].
    """
    a_norm = a / a.norm(dim=1, keepdim=True).clamp_min(eps)
    b_norm = b / b.norm(dim=1, keepdim=True).clamp_min(eps)
    return a_norm @ b_norm.T

# test_function_code --------------------

def test_cosine_similarity_matrix():
    print("Testing started.")
    torch.manual_seed(0)
    a, b = torch.randn(4, 16), torch.randn(3, 16)

    # Test case 1: shape
    print("Testing case [1/3] started.")
    sim = cosine_similarity_matrix(a, b)
    assert sim.shape == (4, 3), f"Test case [1/3] failed: shape {tuple(sim.shape)}"

    # Test case 2: agrees with torch's own cosine similarity
    print("Testing case [2/3] started.")
    expected = torch.nn.functional.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1)
    assert torch.allclose(cosine_similarity_matrix(a, b), expected, atol=1e-5), \
        "Test case [2/3] failed: values differ"

    # Test case 3: a zero vector gives zeros, not NaN
    print("Testing case [3/3] started.")
    sim = cosine_similarity_matrix(torch.zeros(1, 16), b)
    assert not torch.isnan(sim).any(), "Test case [3/3] failed: NaN for a zero vector"
    print("Testing finished.")

# call_test_function_code --------------------

test_cosine_similarity_matrix()
