"""confluent-kafka-python (librdkafka) against a StreamHouse broker: produce every record of the job
with a delivery report each, then read the topic back with a Consumer that is assign()ed to every
partition from offset 0 (no group membership: StreamHouse has no group coordinator yet, so
auto-commit and offset storing are off; librdkafka still wants a group.id to build a Consumer).

Run under /usr/bin/python3 (the Debian package python3-confluent-kafka); see compat_io.py for the
job and report formats.
"""
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from compat_io import decode, encode, read_job, write_report


def main():
    job = read_job()
    topic = job["topic"]
    records = job["records"]
    errors = []

    def on_error(err):
        errors.append("error_cb: %s" % err)

    producer = Producer({
        "bootstrap.servers": job["bootstrap"],
        "client.id": job["client_id"],
        "compression.type": job["compression"],
        "acks": "all",
        "linger.ms": 5,
        "error_cb": on_error,
    })
    delivered = [None] * len(records)

    def report_for(index):
        def on_delivery(err, msg):
            delivered[index] = {
                "index": index,
                "error": None if err is None else str(err),
                "partition": msg.partition(),
                "offset": msg.offset(),
            }
        return on_delivery

    for index, r in enumerate(records):
        kwargs = {
            "topic": topic,
            "value": decode(r["value"]),
            "key": decode(r["key"]),
            "partition": r["partition"],
            "headers": [(k, decode(v)) for k, v in r["headers"]],
            "on_delivery": report_for(index),
        }
        if r.get("timestamp") is not None:
            kwargs["timestamp"] = r["timestamp"]
        while True:
            try:
                producer.produce(**kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(job["timeout_s"])
    if left:
        errors.append("flush: %d messages not delivered" % left)

    consumer = Consumer({
        "bootstrap.servers": job["bootstrap"],
        "client.id": job["client_id"],
        "group.id": "streamhouse-compat-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "error_cb": on_error,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(job["partitions"])])
    consumed = []
    deadline = time.time() + job["timeout_s"]
    while len(consumed) < len(records) and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() != KafkaError._PARTITION_EOF:
                errors.append("consume: %s" % msg.error())
            continue
        consumed.append({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "timestamp": msg.timestamp()[1],
            "key": encode(msg.key()),
            "value": encode(msg.value()),
            "headers": [[k, encode(v)] for k, v in (msg.headers() or [])],
        })
    consumer.close()

    write_report({
        "client": "confluent-kafka-python %s (librdkafka %s)" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]),
        "delivered": delivered,
        "consumed": consumed,
        "errors": errors,
    })


if __name__ == "__main__":
    main()
