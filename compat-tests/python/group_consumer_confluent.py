"""A confluent-kafka-python (librdkafka) consumer in a consumer group, for compat-tests/librdkafka-groups.test.ts.

    /usr/bin/python3 group_consumer_confluent.py '<json options>'

Options: {"bootstrap": str, "group": str, "topics": [str], "name": str, "config": {librdkafka props}}.
It subscribes and prints one JSON object per line on stdout, flushed as it happens, each with
"ev", "name" and "t" (wall-clock milliseconds, the same clock as the test process):
    {"ev": "assign", "parts": [int]}    partitions added (eager: the whole assignment)
    {"ev": "revoke", "parts": [int]}    partitions taken away
    {"ev": "msg", "p": int, "o": int, "v": str}
    {"ev": "commit", "p": int, "o": int}   a commit the broker acknowledged (o = next offset)
    {"ev": "error", "err": str}
    {"ev": "closed"}
On SIGTERM it closes the consumer (commits, and leaves the group unless it is a static member) and
exits 0. On SIGKILL it just dies (a crash).
"""
import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError

opts = json.loads(sys.argv[1])
name = opts["name"]
stop = False


def emit(ev, **fields):
    fields.update({"ev": ev, "name": name, "t": int(time.time() * 1000)})
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def on_term(_signum, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def on_assign(_consumer, partitions):
    emit("assign", parts=sorted(p.partition for p in partitions))


def on_revoke(_consumer, partitions):
    emit("revoke", parts=sorted(p.partition for p in partitions))


def on_commit(err, partitions):
    if err is not None and err.code() != KafkaError._NO_OFFSET:
        emit("error", err="commit: %s" % err)
        return
    for p in partitions:
        if p.error is None and p.offset >= 0:
            emit("commit", p=p.partition, o=p.offset)


def on_error(err):
    emit("error", err=str(err))


config = {
    "bootstrap.servers": opts["bootstrap"],
    "group.id": opts["group"],
    "client.id": name,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 200,
    "on_commit": on_commit,
    "error_cb": on_error,
}
config.update(opts.get("config", {}))
consumer = Consumer(config)
consumer.subscribe(opts["topics"], on_assign=on_assign, on_revoke=on_revoke)

while not stop:
    msg = consumer.poll(0.1)
    if msg is None:
        continue
    if msg.error() is not None:
        if msg.error().code() != KafkaError._PARTITION_EOF:
            emit("error", err=str(msg.error()))
        continue
    emit("msg", p=msg.partition(), o=msg.offset(), v=msg.value().decode("utf-8"))

consumer.close()
emit("closed")
