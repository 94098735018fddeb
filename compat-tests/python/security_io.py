"""Job input and report output of the security client scripts (security_confluent.py,
security_kafka_python.py), driven by compat-tests/support/security-python.ts.

A job arrives as one JSON object on stdin:
  {"bootstrap": "host:port", "topic": str, "client_id": str, "timeout_s": float,
   "settings": {client-specific security settings, passed to the client unchanged},
   "records": [{"key": str, "value": str}],
   "expect": "ok" | "fail"}
"ok": produce every record to partition 0 (a delivery report each), then read partition 0 back
from offset 0 with an assigned consumer. "fail": the client is expected not to get in; it tries to
produce the records and reports how it was refused, without waiting out the client's full timeouts.

The script answers with one JSON object on stdout:
  {"client": str, "produced": [{"index", "partition", "offset", "error"}],
   "consumed": [{"partition", "offset", "key", "value"}],
   "errors": [{"code": str|null, "message": str}], "log": [str], "elapsed_s": float}
Keys and values are UTF-8 strings here (the byte-for-byte cases live in the other compat tests).
"""
import json
import logging
import sys


def read_job():
    return json.load(sys.stdin)


def text(raw):
    if raw is None:
        return None
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def write_report(report):
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


class ListHandler(logging.Handler):
    """Keeps the client library's log lines, so the test can show (and check) why it was refused."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        line = "%s %s: %s" % (record.levelname, record.name, record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            line += " [%s: %s]" % (type(record.exc_info[1]).__name__, record.exc_info[1])
        self.lines.append(line)


def capture_logs(name, level=logging.INFO):
    handler = ListHandler()
    logger = logging.getLogger(name)
    logger.setLevel(level)
    logger.addHandler(handler)
    logger.propagate = False
    return handler
