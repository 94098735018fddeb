"""confluent-kafka-python (librdkafka) with security settings (security.protocol, sasl.*, ssl.*)
against a StreamHouse broker; see security_io.py for the job and report formats.

Run under /usr/bin/python3 (the Debian package python3-confluent-kafka).
"""
import logging
import time

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition

from security_io import capture_logs, read_job, text, write_report


def main():
    job = read_job()
    started = time.time()
    topic = job["topic"]
    records = job["records"]
    timeout_s = job["timeout_s"]
    errors = []
    logs = capture_logs("librdkafka")

    def on_error(err):
        errors.append({"code": err.name(), "message": err.str()})

    base = dict(job["settings"])
    base.update({
        "bootstrap.servers": job["bootstrap"],
        "client.id": job["client_id"],
        "error_cb": on_error,
        "logger": logging.getLogger("librdkafka"),
    })
    expect_ok = job["expect"] == "ok"
    producer_conf = dict(base, **{"acks": "all", "linger.ms": 5,
                                  "message.timeout.ms": int(timeout_s * 1000)})
    producer = Producer(producer_conf)
    produced = [None] * len(records)

    def report_for(index):
        def on_delivery(err, msg):
            produced[index] = {
                "index": index,
                "error": None if err is None else err.name(),
                "partition": msg.partition(),
                "offset": msg.offset() if err is None else None,
            }
        return on_delivery

    for index, r in enumerate(records):
        producer.produce(topic, value=r["value"].encode("utf-8"), key=r["key"].encode("utf-8"),
                         partition=0, on_delivery=report_for(index))
    def refused():
        # librdkafka retries a refused login forever; an authentication error ends the job early
        # (the records would only wait out message.timeout.ms).
        return any(e["code"] == "_AUTHENTICATION" for e in errors)

    deadline = time.time() + timeout_s
    if expect_ok:
        while len(producer) > 0 and not refused() and time.time() < deadline:
            producer.flush(0.2)
    else:
        # Refused: wait for librdkafka to report why (error_cb).
        while not errors and time.time() < deadline:
            producer.poll(0.2)
    if len(producer) > 0:
        if expect_ok:
            errors.append({"code": None, "message": "%d messages not delivered" % len(producer)})
        producer.purge()
        producer.flush(2)

    consumed = []
    if expect_ok and not refused():
        consumer = Consumer(dict(base, **{
            "group.id": "streamhouse-security-assign-only",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }))
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.time() + timeout_s
        while len(consumed) < len(records) and not refused() and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                errors.append({"code": msg.error().name(), "message": msg.error().str()})
                continue
            consumed.append({"partition": msg.partition(), "offset": msg.offset(),
                             "key": text(msg.key()), "value": text(msg.value())})
        consumer.close()

    write_report({
        "client": "confluent-kafka-python %s (librdkafka %s)" % (confluent_kafka.version()[0],
                                                               confluent_kafka.libversion()[0]),
        "produced": produced,
        "consumed": consumed,
        "errors": errors,
        "log": logs.lines[-50:],
        "elapsed_s": round(time.time() - started, 3),
    })


if __name__ == "__main__":
    main()
