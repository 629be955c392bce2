"""Train a random forest on the iris data set and save it with joblib."""
import argparse
import csv
import json
import os

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    features = [k for k in rows[0] if k != "species"]
    x = np.array([[float(r[k]) for k in features] for r in rows])
    y = np.array([r["species"] for r in rows])
    return x, y, features


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--n-estimators", type=int, default=100)
    p.add_argument("--max-depth", type=int, default=None)
    p.add_argument("--model-dir", required=True)
    args = p.parse_args()

    x, y, features = load(args.data)
    print(f"loaded {len(x)} rows with features {features}")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=0)
    model.fit(x_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(x_test))
    print(f"test accuracy: {accuracy:.4f}")

    os.makedirs(args.model_dir, exist_ok=True)
    path = os.path.join(args.model_dir, "model.joblib")
    joblib.dump(model, path)
    print(f"saved model to {path}")
    # ./outputs is kept as the job's default output.
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/metrics.json", "w") as f:
        json.dump({"accuracy": accuracy, "n_estimators": args.n_estimators}, f)


if __name__ == "__main__":
    main()
