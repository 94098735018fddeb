"""librdkafka (confluent-kafka-python) producer for compat-tests/crash-recovery.test.ts.

    /usr/bin/python3 crash-producer.py BOOTSTRAP TOPIC PREFIX PARTITIONS

Produces values PREFIX-0, PREFIX-1, ... (value i to partition i % PARTITIONS) with acks=all and no
retries (so a value is appended at most once: a lost reply is not resent), until SIGTERM. Prints one
line per delivery report, flushed as it happens:
    ACK <partition> <offset> <value>
    ERR <value> <error name>
and, at the end, `DONE <produced>`. On SIGTERM it stops producing, drops what was never sent, waits
briefly for requests in flight, and exits.
"""
import signal
import sys

from confluent_kafka import KafkaException, Producer

bootstrap, topic, prefix, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.stdout.reconfigure(line_buffering=True)

stop = False


def on_term(_signum, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)

producer = Producer({
    'bootstrap.servers': bootstrap,
    'acks': 'all',
    'enable.idempotence': False,
    'message.send.max.retries': 0,
    'linger.ms': 2,
    'message.timeout.ms': 4000,
    'socket.timeout.ms': 3000,
    'reconnect.backoff.max.ms': 200,
})


def report(err, msg):
    value = msg.value().decode()
    if err is None:
        print(f'ACK {msg.partition()} {msg.offset()} {value}')
    else:
        print(f'ERR {value} {err.name()}')


produced = 0
while not stop:
    if len(producer) > 200:
        producer.poll(0.005)
        continue
    value = f'{prefix}-{produced}'
    try:
        producer.produce(topic, value.encode(), partition=produced % partitions, on_delivery=report)
    except (BufferError, KafkaException):
        producer.poll(0.01)
        continue
    produced += 1
    producer.poll(0)

producer.purge(in_queue=True, in_flight=False)
producer.flush(5)
print(f'DONE {produced}')
