# domain: Natural Language Processing

# function_import --------------------

from datasets import Dataset

# function_code --------------------

def prepare_dataset(texts: list[str], labels: list[int]) -> Dataset:
    """
    Build a HuggingFace `datasets.Dataset` in memory for text classification.

    Empty or whitespace-only texts are dropped (with their labels); every kept text is
    stripped; a column `n_words` holds the number of whitespace-separated words.

    Args:
        texts (list[str]): the texts.
        labels (list[int]): one label per text.

    Returns:
        datasets.Dataset: columns `text`, `label` and `n_words`.
    """
    dataset = Dataset.from_dict({"text": texts, "label": labels})
    dataset = dataset.filter(lambda row: bool(row["text"].strip()))
    return dataset.map(lambda row: {"text": row["text"].strip(),
                                    "n_words": len(row["text"].split())})

# test_function_code --------------------

def test_prepare_dataset():
    print("Testing started.")
    data = prepare_dataset(["  good film ", "", "bad", "   "], [1, 0, 0, 1])

    # Test case 1: empty texts are dropped with their labels
    print("Testing case [1/3] started.")
    assert isinstance(data, Dataset), f"Test case [1/3] failed: {type(data)}"
    assert data["label"] == [1, 0], f"Test case [1/3] failed: labels {data['label']}"

    # Test case 2: texts are stripped
    print("Testing case [2/3] started.")
    assert data["text"] == ["good film", "bad"], f"Test case [2/3] failed: {data['text']}"

    # Test case 3: the word counts
    print("Testing case [3/3] started.")
    assert data["n_words"] == [2, 1], f"Test case [3/3] failed: {data['n_words']}"
    print("Testing finished.")

# call_test_function_code --------------------

test_prepare_dataset()
