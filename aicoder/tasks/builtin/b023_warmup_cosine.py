# domain: Other

# function_import --------------------

import math

# function_code --------------------

def warmup_cosine_lr(step: int, warmup_steps: int, total_steps: int, base_lr: float,
                     min_lr: float = 0.0) -> float:
    """
    The learning rate at `step` of a linear-warmup, cosine-decay schedule (as used to
    fine-tune transformers).

    During the first `warmup_steps` steps it rises linearly from base_lr / warmup_steps (at
    step 0) to base_lr; then it follows half a cosine from base_lr down to min_lr, reached at
    `total_steps`; after that it stays at min_lr.

    Args:
        step (int): the current step, from 0.
        warmup_steps (int): steps of warmup (may be 0).
        total_steps (int): the step at which the decay ends.
        base_lr (float): the peak learning rate.
        min_lr (float): the floor.

    Returns:
        float: the learning rate.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress))

# test_function_code --------------------

def test_warmup_cosine_lr():
    assert abs(warmup_cosine_lr(0, 10, 100, 1e-3) - 1e-4) < 1e-12
    assert abs(warmup_cosine_lr(9, 10, 100, 1e-3) - 1e-3) < 1e-12
    assert abs(warmup_cosine_lr(10, 10, 100, 1e-3) - 1e-3) < 1e-12
    assert abs(warmup_cosine_lr(55, 10, 100, 1e-3, 1e-5) - (1e-5 + 0.5 * (1e-3 - 1e-5))) < 1e-9
    assert warmup_cosine_lr(150, 10, 100, 1e-3, 1e-5) == 1e-5
    assert abs(warmup_cosine_lr(0, 0, 100, 2e-4) - 2e-4) < 1e-12
    return 'All Tests Passed'

# call_test_function_code --------------------

test_warmup_cosine_lr()
