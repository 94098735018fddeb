"""An idempotent confluent-kafka-python (librdkafka) producer, for compat-tests/librdkafka-groups.test.ts.

    /usr/bin/python3 idempotent_producer_confluent.py BOOTSTRAP TOPIC PARTITIONS COUNT RATE_PER_S

Produces values "0", "1", ... "COUNT-1" (value i to partition i % PARTITIONS) with
enable.idempotence=true at about RATE_PER_S messages per second, then flushes. The broker may be
killed and restarted meanwhile: librdkafka retries in-flight batches with their original
producer id and sequence numbers, and the broker must append each exactly once, in order.
Prints progress lines "SENT <n>" (every 500 messages) and, at the end, one JSON line:
    {"delivered": int, "errors": {"<error>": count}, "first_errors": [str]}
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
partitions, count, rate = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
sys.stdout.reconfigure(line_buffering=True)

producer = Producer({
    "bootstrap.servers": bootstrap,
    "client.id": "idempotent-producer",
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "message.timeout.ms": 120000,
    "socket.timeout.ms": 5000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 100,
})

delivered = 0
errors = {}
first_errors = []


def on_delivery(err, _msg):
    global delivered
    if err is None:
        delivered += 1
        return
    errors[err.name()] = errors.get(err.name(), 0) + 1
    if len(first_errors) < 10:
        first_errors.append(str(err))


start = time.time()
for i in range(count):
    # Pace the sends so that the broker restart happens mid-stream.
    ahead = i / rate - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
    while True:
        try:
            producer.produce(topic, str(i).encode(), partition=i % partitions, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
    if (i + 1) % 500 == 0:
        print("SENT %d" % (i + 1))

remaining = producer.flush(180)
print(json.dumps({"delivered": delivered, "errors": errors, "first_errors": first_errors, "unflushed": remaining}))
