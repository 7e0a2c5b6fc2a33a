# domain: Computer Vision

# function_import --------------------

import torch

# function_code --------------------

def non_max_suppression(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float
                        ) -> list[int]:
    """
    Greedy non-maximum suppression, as object detectors use it, without torchvision.

    Repeatedly keep the highest-scoring remaining box and drop every remaining box whose IoU
    with it is greater than `iou_threshold`.

    Args:
        boxes (torch.Tensor): (N, 4) as (x1, y1, x2, y2).
        scores (torch.Tensor): (N,).
        iou_threshold (float): overlap above which a box is suppressed.

    Returns:
        list[int]: indices of the kept boxes, by decreasing score.
    """
    order = scores.argsort(descending=True).tolist()
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        best = order.pop(0)
        keep.append(best)
        remaining = []
        for other in order:
            x1 = torch.max(boxes[best, 0], boxes[other, 0])
            y1 = torch.max(boxes[best, 1], boxes[other, 1])
            x2 = torch.min(boxes[best, 2], boxes[other, 2])
            y2 = torch.min(boxes[best, 3], boxes[other, 3])
            inter = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
            iou = inter / (areas[best] + areas[other] - inter)
            if iou <= iou_threshold:
                remaining.append(other)
        order = remaining
    return keep

# test_function_code --------------------

def test_non_max_suppression():
    print("Testing started.")
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [21, 21, 29, 29.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])

    # Test case 1: overlapping boxes are suppressed, the best of each cluster kept
    print("Testing case [1/3] started.")
    keep = non_max_suppression(boxes, scores, 0.5)
    assert keep == [3, 0], f"Test case [1/3] failed: kept {keep}"

    # Test case 2: a threshold of 1.0 keeps everything, ordered by score
    print("Testing case [2/3] started.")
    assert non_max_suppression(boxes, scores, 1.0) == [3, 0, 1, 2], "Test case [2/3] failed"

    # Test case 3: an empty input
    print("Testing case [3/3] started.")
    assert non_max_suppression(torch.zeros(0, 4), torch.zeros(0), 0.5) == [], \
        "Test case [3/3] failed"
    print("Testing finished.")

# call_test_function_code --------------------

test_non_max_suppression()
