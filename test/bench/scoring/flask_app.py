# The same score.py behind Flask, the way Azure ML's own inference server serves it: init() once
# per worker process, run(request body as text) per POST /score, the result sent as JSON.
import json
import os
import sys

from flask import Flask, Response, request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score  # noqa: E402

score.init()
app = Flask(__name__)


@app.route("/score", methods=["POST"])
def run():
    result = score.run(request.get_data(as_text=True))
    return Response(json.dumps(result), mimetype="application/json")
