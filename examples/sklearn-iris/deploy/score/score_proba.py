"""Scoring script that returns labels and class probabilities."""
import json
import os

import joblib
import numpy as np

model = None


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.joblib"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    return {
        "labels": model.predict(data).tolist(),
        "probabilities": model.predict_proba(data).round(3).tolist(),
        "classes": model.classes_.tolist(),
    }
