# domain: Computer Vision

# function_import --------------------

from typing import Sequence

# function_code --------------------

def box_iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """
    Intersection over union of two axis-aligned boxes, as object detectors report them.

    Args:
        box_a (Sequence[float]): (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2.
        box_b (Sequence[float]): the same for the second box.

    Returns:
        float: area of the intersection divided by area of the union, in [0, 1]; 0.0 when
            the boxes do not overlap or the union is empty.
    """
    ax1, ay1, ax2, ay2 = box_a
    bx1, by1, bx2, by2 = box_b
    inter_w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    inter_h = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = inter_w * inter_h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0

# test_function_code --------------------

def test_box_iou():
    print("Testing started.")

    # Test case 1: identical boxes
    print("Testing case [1/4] started.")
    assert abs(box_iou((0, 0, 2, 2), (0, 0, 2, 2)) - 1.0) < 1e-9, "Test case [1/4] failed"

    # Test case 2: half overlap
    print("Testing case [2/4] started.")
    iou = box_iou((0, 0, 2, 2), (1, 0, 3, 2))
    assert abs(iou - 1 / 3) < 1e-9, f"Test case [2/4] failed: got {iou}"

    # Test case 3: disjoint boxes
    print("Testing case [3/4] started.")
    assert box_iou((0, 0, 1, 1), (5, 5, 6, 6)) == 0.0, "Test case [3/4] failed"

    # Test case 4: touching edges only
    print("Testing case [4/4] started.")
    assert box_iou((0, 0, 1, 1), (1, 0, 2, 1)) == 0.0, "Test case [4/4] failed"
    print("Testing finished.")

# call_test_function_code --------------------

test_box_iou()
