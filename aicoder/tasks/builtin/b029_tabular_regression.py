# domain: Tabular

# function_import --------------------

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# function_code --------------------

def fit_price_model(frame: pd.DataFrame, target: str) -> Pipeline:
    """
    Fit a tabular regression pipeline: numeric columns standardised, text (object) columns
    one-hot encoded (unknown categories ignored at prediction time), then ridge regression
    (alpha 1.0).

    Args:
        frame (pd.DataFrame): features and the target column.
        target (str): the name of the column to predict.

    Returns:
        sklearn.pipeline.Pipeline: the fitted pipeline; it predicts from a frame without the
            target column.
    """
    features = frame.drop(columns=[target])
    numeric = features.select_dtypes(include="number").columns.tolist()
    categorical = [c for c in features.columns if c not in numeric]
    prep = ColumnTransformer([("num", StandardScaler(), numeric),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])
    return Pipeline([("prep", prep), ("model", Ridge(alpha=1.0))]).fit(features, frame[target])

# test_function_code --------------------

def test_fit_price_model():
    rng = np.random.default_rng(0)
    size = rng.uniform(20, 200, 200)
    city = rng.choice(["paris", "lyon"], 200)
    price = 3 * size + np.where(city == "paris", 100, 0) + rng.normal(0, 5, 200)
    frame = pd.DataFrame({"size": size, "city": city, "price": price})
    model = fit_price_model(frame, "price")
    assert isinstance(model, Pipeline)
    new = pd.DataFrame({"size": [100.0, 100.0], "city": ["paris", "lyon"]})
    low, high = sorted(model.predict(new))
    assert 80 < high - low < 120
    assert abs(model.predict(pd.DataFrame({"size": [50.0], "city": ["lyon"]}))[0] - 150) < 15
    assert np.isfinite(model.predict(pd.DataFrame({"size": [70.0], "city": ["nice"]}))).all()
    return 'All Tests Passed'

# call_test_function_code --------------------

test_fit_price_model()
