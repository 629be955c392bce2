# The scoring script of the benchmark: as small as a real one can be, so that what is measured
# is the serving stack (HTTP, queueing, the worker round trip), not the model.
import json


def init():
    global model
    model = {"name": "trivial", "version": 1}


def run(raw_data):
    data = json.loads(raw_data)
    return {"model": model["name"], "inputs": len(data.get("data", [])), "result": [0.5, 0.25]}
