"""Scoring script for the iris model: init() loads it once, run() classifies a request."""
import json
import os

import joblib
import numpy as np

model = None


def init():
    global model
    # A model registered from a job's `model` output keeps that folder's name.
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.joblib")
    model = joblib.load(path)
    print(f"loaded {type(model).__name__} from {path}")


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    return model.predict(data)  # a numpy array: sent as a JSON list
