"""kafka-python against a StreamHouse broker: KafkaProducer.send() for every record of the job, then
flush() and each future's RecordMetadata as the delivery report; then a KafkaConsumer without a
group_id, assign()ed to every partition, seek_to_beginning(), polled until all records are back.

Run under /usr/bin/python3 (the Debian package python3-kafka); see compat_io.py for the job and
report formats.
"""
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from compat_io import decode, encode, read_job, write_report


def main():
    job = read_job()
    topic = job["topic"]
    records = job["records"]
    errors = []
    timeout_s = job["timeout_s"]
    compression = None if job["compression"] == "none" else job["compression"]

    producer = KafkaProducer(
        bootstrap_servers=job["bootstrap"],
        client_id=job["client_id"],
        acks="all",
        compression_type=compression,
        linger_ms=5,
        request_timeout_ms=int(timeout_s * 1000),
    )
    futures = []
    for r in records:
        futures.append(producer.send(
            topic,
            value=decode(r["value"]),
            key=decode(r["key"]),
            headers=[(k, decode(v)) for k, v in r["headers"]],
            partition=r["partition"],
            timestamp_ms=r.get("timestamp"),
        ))
    producer.flush(timeout=timeout_s)
    delivered = []
    for index, f in enumerate(futures):
        try:
            md = f.get(timeout=timeout_s)
            delivered.append({"index": index, "error": None, "partition": md.partition, "offset": md.offset})
        except Exception as err:  # noqa: BLE001 - every failure is reported, not raised
            delivered.append({"index": index, "error": repr(err), "partition": None, "offset": None})
    producer.close(timeout=timeout_s)

    consumer = KafkaConsumer(
        bootstrap_servers=job["bootstrap"],
        client_id=job["client_id"],
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000) + 1000,
    )
    partitions = [TopicPartition(topic, p) for p in range(job["partitions"])]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    consumed = []
    deadline = time.time() + timeout_s
    while len(consumed) < len(records) and time.time() < deadline:
        for _tp, messages in consumer.poll(timeout_ms=500).items():
            for m in messages:
                consumed.append({
                    "partition": m.partition,
                    "offset": m.offset,
                    "timestamp": m.timestamp,
                    "key": encode(m.key),
                    "value": encode(m.value),
                    "headers": [[k, encode(v)] for k, v in (m.headers or [])],
                })
    consumer.close()

    write_report({
        "client": "kafka-python %s" % kafka.__version__,
        "delivered": delivered,
        "consumed": consumed,
        "errors": errors,
    })


if __name__ == "__main__":
    main()
