"""berth scoring worker: runs a user's score.py behind `berth-runtime score`.

The Go host starts this file with `python -u -c <source> SCRIPT CODE_DIR` and talks to it over
two extra pipes, not stdout or stderr, which belong to the user's prints:

    fd 3  host -> worker   requests
    fd 4  worker -> host   init outcome, then one answer per request

Every message is a frame: a 4-byte big-endian payload length, one kind byte, the payload.
The worker imports the script, calls init() once and reports READY (or INIT_FAILED and
exits), then answers each SCORE frame with exactly one frame. End of input on fd 3 means the
host is stopping: the worker exits 0. Only the standard library is used, so the worker runs on
any interpreter the user's environment brings; numpy is imported only when run() returned
one of its types.

Keep the kinds in step with protocol.go.
"""

import importlib.util
import json
import os
import struct
import sys
import traceback

REQUEST_FD, ANSWER_FD = 3, 4

# Host to worker.
SCORE = b"S"
# Worker to host.
READY = b"R"
INIT_FAILED = b"F"
JSON_RESULT = b"J"
BYTES_RESULT = b"B"
RUN_FAILED = b"E"
UNSUPPORTED = b"U"

HEADER = struct.Struct(">IB")
TRACEBACK_LINES = 20
SUPPORTED = "return a dict, list, str, number, numpy array or bytes"


def send(kind, payload):
    """Writes one frame; a single write for small answers keeps the pipe round trip short."""
    header = HEADER.pack(len(payload), kind[0])
    if len(payload) < 65536:
        write_all(header + payload)
    else:
        write_all(header)
        write_all(payload)


def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(ANSWER_FD, view):]


def failure(summary, exc):
    """The payload of INIT_FAILED and RUN_FAILED: a one-line summary and the traceback.

    The frames of this worker and of the import machinery come first and say nothing about the
    user's code, so they are left out."""
    tb = exc.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename == "<string>"
                              or tb.tb_frame.f_code.co_filename.startswith("<frozen ")):
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    text = "".join(lines).rstrip("\n").split("\n")
    return json.dumps({"summary": summary, "traceback": "\n".join(text[-TRACEBACK_LINES:])}).encode()


def describe(exc):
    message = str(exc)
    name = type(exc).__name__
    return name + ": " + message if message else name


def type_name(value):
    t = type(value)
    if t.__module__ == "builtins":
        return t.__qualname__
    return t.__module__ + "." + t.__qualname__


def with_article(name):
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


class Unsupported(TypeError):
    def __init__(self, value):
        super().__init__(type_name(value))
        self.value = value


def to_json_value(value):
    """json.dumps' fallback: numpy arrays and scalars become lists and Python numbers."""
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        import numpy

        if isinstance(value, numpy.ndarray):
            return value.tolist()
        if isinstance(value, numpy.generic):
            return value.item()
    raise Unsupported(value)


def encode(result):
    """Returns the answer frame for run()'s result."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return BYTES_RESULT, bytes(result)
    try:
        return JSON_RESULT, json.dumps(result, default=to_json_value, allow_nan=False).encode("utf-8")
    except Unsupported as e:
        outer = type_name(result)
        inner = with_article(str(e))
        what = inner if e.value is result else with_article(outer) + " holding " + inner
        return UNSUPPORTED, ("run() returned %s, which cannot be sent as JSON; %s" % (what, SUPPORTED)).encode()
    except (TypeError, ValueError, RecursionError) as e:
        message = "run() returned %s that cannot be sent as JSON (%s); %s" % (
            with_article(type_name(result)), describe(e), SUPPORTED)
        return UNSUPPORTED, message.encode()


def load_script(script):
    """Imports the script as a module named after its file and calls its init()."""
    name = os.path.splitext(os.path.basename(script))[0]
    stage = "importing " + os.path.basename(script)
    try:
        spec = importlib.util.spec_from_file_location(name, script)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        run = getattr(module, "run", None)
        if not callable(run):
            raise AttributeError("%s defines no run(raw_data) function" % os.path.basename(script))
        init = getattr(module, "init", None)
        if init is not None:
            stage = "init()"
            init()
    except BaseException as e:
        # BaseException too: a sys.exit() in init() must be reported, not end the worker
        # silently.
        send(INIT_FAILED, failure(stage + " raised " + describe(e), e))
        return None
    return run


def serve(run):
    requests = os.fdopen(REQUEST_FD, "rb", buffering=1 << 16)
    header_size = HEADER.size
    while True:
        header = requests.read(header_size)
        if len(header) < header_size:
            return
        length, kind = HEADER.unpack(header)
        payload = requests.read(length) if length else b""
        if len(payload) < length:
            return
        if kind != SCORE[0]:
            raise SystemExit("berth worker: unexpected frame kind %r from the host" % chr(kind))
        try:
            result = run(payload.decode("utf-8"))
        except Exception as e:
            send(RUN_FAILED, failure("run() raised " + describe(e), e))
            continue
        send(*encode(result))


def main():
    script, code_dir = sys.argv[1], sys.argv[2]
    # User code may start programs; they must not inherit the host's pipes, or the host would
    # not see this worker's end.
    os.set_inheritable(REQUEST_FD, False)
    os.set_inheritable(ANSWER_FD, False)
    # `python -c` puts "" (the current folder) first on sys.path, unless safe-path mode is on;
    # the code folder takes the first place either way.
    sys.path[:] = [code_dir] + [p for p in sys.path if p != ""]
    run = load_script(script)
    if run is None:
        sys.exit(1)
    send(READY, b"")
    serve(run)


main()
