# domain: Tabular

# function_import --------------------

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

# function_code --------------------

def train_text_classifier(texts: list[str], labels: list[str]) -> Pipeline:
    """
    Train a scikit-learn pipeline that classifies short texts: TF-IDF features (unigrams and
    bigrams) followed by logistic regression.

    Args:
        texts (list[str]): training texts.
        labels (list[str]): their class names.

    Returns:
        sklearn.pipeline.Pipeline: the fitted pipeline (steps named 'tfidf' and 'clf').
    """
    pipeline = Pipeline([("tfidf", TfidfVectorizer(ngram_range=(1, 2))),
                         ("clf", LogisticRegression(max_iter=1000))])
    return pipeline.fit(texts, labels)

# test_function_code --------------------

def test_train_text_classifier():
    texts = ["great movie", "loved it", "wonderful acting", "terrible plot", "hated it",
             "awful acting"] * 3
    labels = ["pos", "pos", "pos", "neg", "neg", "neg"] * 3
    model = train_text_classifier(texts, labels)
    assert isinstance(model, Pipeline)
    assert list(model.named_steps) == ["tfidf", "clf"]
    assert list(model.predict(["great acting", "terrible movie"])) == ["pos", "neg"]
    assert model.predict_proba(["loved it"]).shape == (1, 2)
    assert model.named_steps["tfidf"].ngram_range == (1, 2)
    return 'All Tests Passed'

# call_test_function_code --------------------

test_train_text_classifier()
