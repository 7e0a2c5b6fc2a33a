# domain: Natural Language Processing

# function_import --------------------

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

# function_code --------------------

def train_wordpiece_tokenizer(texts: list[str], vocab_size: int = 200) -> Tokenizer:
    """
    Train a WordPiece tokenizer in memory (no files, no Hub), as BERT-style models use.

    It splits on whitespace and punctuation, and has the special tokens [PAD], [UNK], [CLS],
    [SEP] with ids 0, 1, 2 and 3 in that order.

    Args:
        texts (list[str]): the training corpus.
        vocab_size (int): the largest vocabulary to learn.

    Returns:
        tokenizers.Tokenizer: the trained tokenizer.
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer

# test_function_code --------------------

def test_train_wordpiece_tokenizer():
    corpus = ["the cat sat on the mat.", "the dog sat on the log!", "cats and dogs play."] * 30
    tokenizer = train_wordpiece_tokenizer(corpus, vocab_size=120)
    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer.get_vocab_size() <= 120
    assert [tokenizer.token_to_id(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]] == [0, 1, 2, 3]
    assert tokenizer.encode("the cat sat.").tokens[-1] == "."
    assert tokenizer.encode("zebra").tokens == ["[UNK]"]  # "z" never occurs in the corpus
    return 'All Tests Passed'

# call_test_function_code --------------------

test_train_wordpiece_tokenizer()
