"""Building AICoderEval-style tasks from documents (``python -m aicoder.build``)."""

# A function with fewer mutants is a bare call of the API (`return np.linalg.det(m)` has one:
# `return None`); its tests kill that one and score 1.0 while testing only that it returns.
MIN_MUTANTS = 3
MIN_CHECKS = 3  # checks a task's test has at least, in `# Test case` blocks
