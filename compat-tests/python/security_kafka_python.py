"""kafka-python with security settings (security_protocol, sasl_mechanism, sasl_plain_username,
sasl_plain_password, ssl_cafile, ...) against a StreamHouse broker; see security_io.py for the job
and report formats.

kafka-python 2.0 authenticates with SaslHandshake v0 followed by raw SASL tokens (no SaslAuthenticate
requests), for PLAIN and SCRAM alike. A refused login just closes the connection (there is no Kafka
response to carry an error), so the report's log shows the connection dropped while
"<authenticating>", and the client gives up with NoBrokersAvailable.

Run under /usr/bin/python3 (the Debian package python3-kafka).
"""
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from security_io import capture_logs, read_job, text, write_report


def main():
    job = read_job()
    started = time.time()
    topic = job["topic"]
    records = job["records"]
    timeout_s = job["timeout_s"]
    settings = job["settings"]
    errors = []
    logs = capture_logs("kafka")
    common = dict(settings, bootstrap_servers=job["bootstrap"], client_id=job["client_id"],
                  api_version_auto_timeout_ms=int(timeout_s * 1000),
                  request_timeout_ms=int(timeout_s * 1000) + 1000)

    produced = []
    consumed = []
    try:
        producer = KafkaProducer(acks="all", linger_ms=5, **common)
    except Exception as err:  # noqa: BLE001 - a refusal is the expected outcome of "fail" jobs
        errors.append({"code": type(err).__name__, "message": str(err)})
        producer = None

    if producer is not None:
        futures = [producer.send(topic, key=r["key"].encode("utf-8"), value=r["value"].encode("utf-8"),
                                 partition=0) for r in records]
        producer.flush(timeout=timeout_s)
        for index, f in enumerate(futures):
            try:
                md = f.get(timeout=timeout_s)
                produced.append({"index": index, "error": None, "partition": md.partition, "offset": md.offset})
            except Exception as err:  # noqa: BLE001 - every failure is reported, not raised
                produced.append({"index": index, "error": repr(err), "partition": None, "offset": None})
        producer.close(timeout=timeout_s)

        consumer = KafkaConsumer(group_id=None, enable_auto_commit=False, **common)
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning()
        deadline = time.time() + timeout_s
        while len(consumed) < len(records) and time.time() < deadline:
            for _tp, messages in consumer.poll(timeout_ms=500).items():
                for m in messages:
                    consumed.append({"partition": m.partition, "offset": m.offset,
                                     "key": text(m.key), "value": text(m.value)})
        consumer.close()

    write_report({
        "client": "kafka-python %s" % kafka.__version__,
        "produced": produced,
        "consumed": consumed,
        "errors": errors,
        "log": [l for l in logs.lines if not l.startswith("DEBUG")][-60:],
        "elapsed_s": round(time.time() - started, 3),
    })


if __name__ == "__main__":
    main()
