# domain: Tabular

# function_import --------------------

import numpy as np

# function_code --------------------

def precision_recall_f1(y_true, y_pred, positive=1) -> dict:
    """
    Precision, recall and F1 of one class, as classification reports give them.

    A ratio whose denominator is zero is 0.0 (no warning, no NaN).

    Args:
        y_true: true labels (list or array).
        y_pred: predicted labels, same length.
        positive: the class scored as positive.

    Returns:
        dict: {'precision': float, 'recall': float, 'f1': float}.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = int(np.sum((y_pred == positive) & (y_true == positive)))
    fp = int(np.sum((y_pred == positive) & (y_true != positive)))
    fn = int(np.sum((y_pred != positive) & (y_true == positive)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}

# test_function_code --------------------

def test_precision_recall_f1():
    print("Testing started.")

    # Test case 1: a mixed prediction
    print("Testing case [1/3] started.")
    scores = precision_recall_f1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert abs(scores["precision"] - 2 / 3) < 1e-9 and abs(scores["recall"] - 2 / 3) < 1e-9, \
        f"Test case [1/3] failed: {scores}"
    assert abs(scores["f1"] - 2 / 3) < 1e-9, f"Test case [1/3] failed: {scores}"

    # Test case 2: string labels and another positive class
    print("Testing case [2/3] started.")
    scores = precision_recall_f1(["cat", "dog", "dog"], ["dog", "dog", "cat"], positive="dog")
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5}, f"Test case [2/3] failed: {scores}"

    # Test case 3: nothing predicted positive gives zeros, not NaN
    print("Testing case [3/3] started.")
    scores = precision_recall_f1([1, 1], [0, 0])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}, f"Test case [3/3] failed: {scores}"
    print("Testing finished.")

# call_test_function_code --------------------

test_precision_recall_f1()
