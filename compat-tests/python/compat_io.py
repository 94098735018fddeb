"""Job input and report output shared by the Python client scripts of compat-tests/.

A job arrives as one JSON object on stdin:
  {"bootstrap": "host:port", "topic": str, "partitions": int, "compression": str,
   "client_id": str, "timeout_s": float,
   "records": [{"partition": int, "key": b64|null, "value": b64|null,
                "headers": [[str, b64]], "timestamp": int|null}]}
The script answers with one JSON object on stdout:
  {"client": str, "delivered": [{"index", "partition", "offset", "error"}],
   "consumed": [{"partition", "offset", "timestamp", "key", "value", "headers"}], "errors": [str]}
Bytes travel as base64 so that keys, values and headers can be compared byte for byte.
"""
import base64
import json
import sys


def read_job():
    return json.load(sys.stdin)


def decode(b64):
    return None if b64 is None else base64.b64decode(b64)


def encode(raw):
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def write_report(report):
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
