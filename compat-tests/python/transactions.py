"""Kafka transactions through confluent-kafka-python (librdkafka), for
compat-tests/transactions-confluent-kafka-python.test.ts.

    /usr/bin/python3 transactions.py < job.json

Job (JSON on stdin): {"bootstrap": str, "topic": str, "topic2": str, "partitions": int, "input_topic": str,
"group": str, "transactional_id": str, "timeout_s": float}.

What it does, in order:
  1. writes 10 plain records "in-0".."in-9" to input_topic partition 0 (a non-transactional producer);
  2. a Consumer of `group` (assign(), no subscription) reads 5 of them; its position is the offset to commit;
  3. transaction 1: init_transactions, begin, produce "c1-<i>" (i < 12, partition i % partitions),
     send_offsets_to_transaction(position, consumer_group_metadata()), commit;
  4. the group's committed offset (OffsetFetch) is read;
  5. transaction 2: the consumer reads 4 more inputs; begin, produce "a2-<i>" (i < 9), flush (so they are
     in the log), send_offsets_to_transaction(the new position), abort;
  6. the group's committed offset is read again;
  7. transaction 3: begin, produce "c3-<i>" (i < 6), commit;
  8. fencing: a second Producer with the same transactional.id calls init_transactions; the first one
     begins a transaction, produces "z-<i>" (i < 3) and tries to commit: it must fail, fatally;
  9. two transactional producers interleave in topic2 (one partition) with plain records: b commits,
     a aborts; read back read_committed (from 0 and, one small fetch at a time, from offset 4, inside
     a's aborted range) and read_uncommitted;
 10. two more consumers (own groups, assign() from the beginning to every partition, until EOF on all)
     read the topic: isolation.level=read_committed (librdkafka's default) and read_uncommitted.

Report (JSON on stdout): {"client", "delivered": [{"value", "partition", "offset", "error"}],
"positions": {"txn1": int, "txn2": int}, "committed": {"after_txn1": int, "after_txn2": int},
"fenced": {"error": str|null, "fatal": bool|null, "stage": str|null, "client_errors": [str]},
"read_committed": [{"partition", "offset", "value"}], "read_uncommitted": [...],
"interleaved": {"produced": [{"value", "offset", "error"}], "read_committed": [...],
                "read_uncommitted": [...], "read_committed_from_4": [...]},
"steps": [[name, ms]], "errors": [str]}.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import libversion, version

job = json.load(sys.stdin)
timeout = float(job["timeout_s"])
partitions = int(job["partitions"])
topic, input_topic = job["topic"], job["input_topic"]
errors = []
delivered = []
steps = []
t0 = time.time()


def step(name):
    steps.append([name, int((time.time() - t0) * 1000)])


def on_delivery(err, msg):
    delivered.append({
        "value": msg.value().decode("utf-8"),
        "partition": msg.partition(),
        "offset": msg.offset() if err is None else None,
        "error": None if err is None else str(err),
    })


def on_error(err):
    errors.append("client error: %s" % err)


def read_all(isolation, of_topic=None, n_partitions=None, start=OFFSET_BEGINNING, extra=None):
    """Every record of a topic from `start` until EOF on every partition, in arrival order."""
    of_topic = of_topic or topic
    n_partitions = n_partitions or partitions
    config = {
        "bootstrap.servers": job["bootstrap"],
        "group.id": "%s-reader-%s" % (job["group"], isolation),
        "client.id": "txn-reader-%s" % isolation,
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "error_cb": on_error,
    }
    config.update(extra or {})
    c = Consumer(config)
    c.assign([TopicPartition(of_topic, p, start) for p in range(n_partitions)])
    out = []
    eof = set()
    deadline = time.time() + timeout
    while len(eof) < n_partitions and time.time() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
            else:
                errors.append("%s consumer: %s" % (isolation, msg.error()))
            continue
        out.append({"partition": msg.partition(), "offset": msg.offset(), "value": msg.value().decode("utf-8")})
    if len(eof) < n_partitions:
        errors.append("%s consumer of %s: no EOF on partitions %s within %ss"
                      % (isolation, of_topic, sorted(set(range(n_partitions)) - eof), timeout))
    c.close()
    return out


def consume(consumer, n):
    got = 0
    deadline = time.time() + timeout
    while got < n and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None or msg.error() is not None:
            continue
        got += 1
    if got < n:
        errors.append("input consumer: read %d of %d" % (got, n))


def committed_offset(consumer):
    tp = consumer.committed([TopicPartition(input_topic, 0)], timeout=timeout)[0]
    if tp.error is not None:
        errors.append("committed(): %s" % tp.error)
    return tp.offset


def produce(producer, prefix, n):
    for i in range(n):
        producer.produce(topic, ("%s-%d" % (prefix, i)).encode(), partition=i % partitions,
                         on_delivery=on_delivery)
    producer.poll(0)


report = {"client": "confluent-kafka-python %s / librdkafka %s" % (version()[0], libversion()[0])}
try:
    plain = Producer({"bootstrap.servers": job["bootstrap"], "client.id": "txn-input-producer"})
    for i in range(10):
        plain.produce(input_topic, ("in-%d" % i).encode(), partition=0)
    if plain.flush(timeout) != 0:
        errors.append("input producer: not flushed")
    step("input written")

    consumer = Consumer({
        "bootstrap.servers": job["bootstrap"],
        "group.id": job["group"],
        "client.id": "txn-input-consumer",
        "enable.auto.commit": False,
        "error_cb": on_error,
    })
    consumer.assign([TopicPartition(input_topic, 0, OFFSET_BEGINNING)])
    consume(consumer, 5)
    pos1 = consumer.position([TopicPartition(input_topic, 0)])

    producer = Producer({
        "bootstrap.servers": job["bootstrap"],
        "client.id": job["transactional_id"],
        "transactional.id": job["transactional_id"],
        "transaction.timeout.ms": 30000,
        "linger.ms": 5,
        "error_cb": on_error,
    })
    producer.init_transactions(timeout)
    step("init_transactions")

    producer.begin_transaction()
    produce(producer, "c1", 12)
    producer.send_offsets_to_transaction(pos1, consumer.consumer_group_metadata(), timeout)
    producer.commit_transaction(timeout)
    step("transaction 1 committed")
    after1 = committed_offset(consumer)

    consume(consumer, 4)
    pos2 = consumer.position([TopicPartition(input_topic, 0)])
    producer.begin_transaction()
    produce(producer, "a2", 9)
    if producer.flush(timeout) != 0:
        errors.append("transaction 2: not flushed before abort")
    producer.send_offsets_to_transaction(pos2, consumer.consumer_group_metadata(), timeout)
    producer.abort_transaction(timeout)
    step("transaction 2 aborted")
    after2 = committed_offset(consumer)

    producer.begin_transaction()
    produce(producer, "c3", 6)
    producer.commit_transaction(timeout)
    step("transaction 3 committed")
    consumer.close()

    fenced = {"error": None, "fatal": None, "stage": None, "client_errors": []}
    errors_before = len(errors)
    newer = Producer({
        "bootstrap.servers": job["bootstrap"],
        "client.id": job["transactional_id"] + "-newer",
        "transactional.id": job["transactional_id"],
        "error_cb": lambda _err: None,  # the fencing of the older instance is not this one's error
    })
    newer.init_transactions(timeout)
    step("newer instance initialised")
    # The old instance's errors from here on are expected: record them apart from `errors`.
    stage = "begin_transaction"
    try:
        producer.begin_transaction()
        stage = "produce"
        for i in range(3):
            producer.produce(topic, ("z-%d" % i).encode(), partition=i % partitions)
        stage = "commit_transaction"
        producer.commit_transaction(timeout)
    except KafkaException as e:
        err = e.args[0]
        fenced.update({"error": "%s (%s)" % (err.str(), err.name()), "fatal": err.fatal(), "stage": stage})
    step("older instance tried to commit")
    try:
        producer.poll(0.5)  # let error_cb report the fencing
    except KafkaException as e:
        # librdkafka may also raise the (expected) fatal fencing error from poll(), depending on when
        # its background thread saw the AddPartitionsToTxn answer: it belongs to the fencing report.
        errors.append("poll: %s" % e.args[0].str())
    # What error_cb said from here on is the expected fencing of the older instance.
    fenced["client_errors"] = errors[errors_before:]
    del errors[errors_before:]
    report["fenced"] = fenced

    # Two transactional producers interleaved in one partition (topic2, 1 partition), with plain
    # records between: a-0 p-0 b-0 a-1 p-1 b-1 [COMMIT b] a-2 [ABORT a] p-2. Each record is flushed
    # before the next is produced, so the log order is the produce order.
    topic2 = job["topic2"]
    tx_a = Producer({"bootstrap.servers": job["bootstrap"], "client.id": "txn-interleave-a",
                     "transactional.id": job["transactional_id"] + "-a", "error_cb": on_error})
    tx_b = Producer({"bootstrap.servers": job["bootstrap"], "client.id": "txn-interleave-b",
                     "transactional.id": job["transactional_id"] + "-b", "error_cb": on_error})
    tx_a.init_transactions(timeout)
    tx_b.init_transactions(timeout)
    tx_a.begin_transaction()
    tx_b.begin_transaction()
    interleaved = []

    def put(p, value):
        def done(err, msg):
            interleaved.append({"value": value, "offset": msg.offset() if err is None else None,
                                "error": None if err is None else str(err)})
        p.produce(topic2, value.encode(), partition=0, on_delivery=done)
        if p.flush(timeout) != 0:
            errors.append("interleave: %s not flushed" % value)

    for p, value in [(tx_a, "a-0"), (plain, "p-0"), (tx_b, "b-0"), (tx_a, "a-1"), (plain, "p-1"), (tx_b, "b-1")]:
        put(p, value)
    tx_b.commit_transaction(timeout)
    put(tx_a, "a-2")
    tx_a.abort_transaction(timeout)
    put(plain, "p-2")
    step("interleaved transactions written")
    report["interleaved"] = {
        "produced": interleaved,
        "read_committed": read_all("read_committed", topic2, 1),
        "read_uncommitted": read_all("read_uncommitted", topic2, 1),
        # From inside the aborted transaction (it began at 0), one small fetch at a time.
        "read_committed_from_4": read_all("read_committed", topic2, 1, 4, {"fetch.message.max.bytes": 64}),
    }
    step("interleaved read back")

    report.update({
        "positions": {"txn1": pos1[0].offset, "txn2": pos2[0].offset},
        "committed": {"after_txn1": after1, "after_txn2": after2},
        "read_committed": read_all("read_committed"),
        "read_uncommitted": read_all("read_uncommitted"),
    })
    step("read back")
except KafkaException as e:
    err = e.args[0]
    errors.append("KafkaException: %s (fatal=%s, retriable=%s, txn_requires_abort=%s)" % (
        err, err.fatal(), err.retriable(), err.txn_requires_abort()))
except Exception as e:  # noqa: BLE001 - reported to the test, which fails on any error
    errors.append("%s: %s" % (type(e).__name__, e))

report.update({"delivered": delivered, "steps": steps, "errors": errors})
json.dump(report, sys.stdout)
sys.stdout.write("\n")
