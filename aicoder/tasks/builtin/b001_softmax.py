# function_import --------------------

import numpy as np

# function_code --------------------

def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """
    Turn a array of logits into probabilities along one axis, without overflow.

    Args:
        logits (np.ndarray): the scores; any shape, any float dtype. Values may be huge
            (e.g. 1000.0), which a naive exp() overflows.
        axis (int): the axis to normalise over. Defaults to the last one.

    Returns:
        np.ndarray: an array of the same shape whose entries are in [0, 1] and sum to 1
            along `axis`.
    """
    shifted = logits - np.max(logits, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=axis, keepdims=True)

# test_function_code --------------------

def test_softmax():
    print("Testing started.")

    # Test case 1: a vector sums to one and keeps the order of the logits
    print("Testing case [1/4] started.")
    probs = softmax(np.array([1.0, 2.0, 3.0]))
    assert np.isclose(probs.sum(), 1.0), f"Test case [1/4] failed: sum is {probs.sum()}"
    assert probs[2] > probs[1] > probs[0], "Test case [1/4] failed: order not kept"

    # Test case 2: huge logits do not overflow
    print("Testing case [2/4] started.")
    probs = softmax(np.array([1000.0, 1000.0]))
    assert np.allclose(probs, [0.5, 0.5]), f"Test case [2/4] failed: got {probs}"

    # Test case 3: the axis argument is honoured on a matrix
    print("Testing case [3/4] started.")
    probs = softmax(np.array([[1.0, 1.0], [0.0, 3.0]]), axis=0)
    assert probs.shape == (2, 2), f"Test case [3/4] failed: shape {probs.shape}"
    assert np.allclose(probs.sum(axis=0), [1.0, 1.0]), "Test case [3/4] failed: columns"

    # Test case 4: each row of a matrix on its own, rows of very different scales
    print("Testing case [4/4] started.")
    probs = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    assert np.allclose(probs, [[0.5, 0.5], [0.25, 0.75]]), f"Test case [4/4] failed: got {probs}"
    print("Testing finished.")

# call_test_function_code --------------------

test_softmax()
