"""kafka-python KafkaConsumer in a consumer group, for compat-tests/kafka-python-groups.test.ts.

    /usr/bin/python3 kafka_python_group.py '<json options>'

Options: {"bootstrap": str, "topic": str, "group": str, "max_records": int, "idle_s": float}.
Subscribes with group_id (auto-commit off), processes up to max_records messages (or until no
message arrives for idle_s), commits exactly the processed positions with commit(offsets), reads
them back with committed(), and closes. Prints one JSON object on stdout:
    {"consumed": [{"p": int, "o": int, "v": str}], "committed": {"<partition>": int},
     "assignment": [int], "errors": [str]}
"""
import json
import sys

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

opts = json.loads(sys.argv[1])
errors = []
consumer = KafkaConsumer(
    opts["topic"],
    bootstrap_servers=opts["bootstrap"],
    group_id=opts["group"],
    client_id="kafka-python-group",
    enable_auto_commit=False,
    auto_offset_reset="earliest",
    consumer_timeout_ms=int(opts["idle_s"] * 1000),
    session_timeout_ms=10000,
    heartbeat_interval_ms=300,
)

consumed = []
positions = {}
try:
    for msg in consumer:
        consumed.append({"p": msg.partition, "o": msg.offset, "v": msg.value.decode("utf-8")})
        positions[msg.partition] = msg.offset + 1
        if len(consumed) >= opts["max_records"]:
            break
    assignment = sorted(tp.partition for tp in consumer.assignment())
    if positions:
        consumer.commit({TopicPartition(opts["topic"], p): OffsetAndMetadata(o, "") for p, o in positions.items()})
    committed = {}
    for p in assignment:
        c = consumer.committed(TopicPartition(opts["topic"], p))
        committed[str(p)] = -1 if c is None else c
except Exception as e:  # report, do not hide: the test fails on any error
    errors.append("%s: %s" % (type(e).__name__, e))
    assignment, committed = [], {}
finally:
    consumer.close(autocommit=False)

json.dump({"consumed": consumed, "committed": committed, "assignment": assignment, "errors": errors}, sys.stdout)
sys.stdout.write("\n")
