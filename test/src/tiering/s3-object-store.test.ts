/**
 * S3ObjectStore against a real S3-compatible server (s3rver on loopback, files in a temp dir):
 * the ObjectStore contract, then the resilience layer through S3FaultProxy (503 SlowDown, rate
 * limits, outages), multipart uploads, and a broker that keeps producing through an S3 outage.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import t from 'tap';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { type RunningBroker, startBroker } from '../../../src/broker/broker.js';
import { ObjectStoreError } from '../../../src/tiering/object-store.js';
import { parseS3Url, S3ObjectStore } from '../../../src/tiering/s3-object-store.js';
import { type CapturedRequest, S3FaultProxy } from '../../support/s3-fault-proxy.js';
import { S3RVER_CREDS, startS3rver } from '../../support/s3rver-server.js';
import { collect, runObjectStoreContract } from './object-store-contract.js';

const { Kafka, logLevel } = kafkajs;
const execFileAsync = promisify(execFile);
const BUCKET = 'streamhouse-test';
const CREDS = S3RVER_CREDS;

const s3 = await startS3rver(BUCKET);
const s3Address = { port: s3.port };
const s3Endpoint = s3.endpoint;
t.teardown(() => s3.stop());

let prefixSeq = 0;
/** A URL for a fresh prefix of the test bucket at `endpoint`, with extra query parameters. */
function storeUrl(endpoint: string, extra = ''): string {
  prefixSeq++;
  return `s3://${BUCKET}/run-${process.pid}-${prefixSeq}?endpoint=${endpoint}&region=us-east-1&path_style=true&${CREDS}${extra}`;
}

function patterned(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (i * 13 + seed) & 0xff;
  return buf;
}

runObjectStoreContract(t, 's3 (s3rver)', async () => {
  const options = parseS3Url(storeUrl(s3Endpoint));
  return { store: new S3ObjectStore(options), reopen: async () => new S3ObjectStore(options) };
});

t.test('URL parsing', async (t) => {
  const o = parseS3Url(
    's3://my-bucket/a/b/?region=eu-west-1&checksums=when_supported&put_rate=7&get_concurrency=3',
    {},
  );
  t.equal(o.bucket, 'my-bucket');
  t.equal(o.prefix, 'a/b');
  t.equal(o.region, 'eu-west-1');
  t.equal(o.checksums, 'WHEN_SUPPORTED');
  t.equal(o.credentials, undefined, 'no static credentials: the default chain');
  t.equal(o.resilience.limits.PUT.ratePerSec, 7);
  t.equal(o.resilience.limits.GET.maxConcurrent, 3);
  t.equal(parseS3Url('s3://my-bucket', {}).prefix, '');
  t.equal(parseS3Url('s3://my-bucket', {}).checksums, 'WHEN_REQUIRED', 'when_required by default');
  t.equal(parseS3Url('s3://my-bucket', { AWS_REGION: 'ap-south-1' }).region, 'ap-south-1');
  t.equal(parseS3Url('s3://my-bucket', {}).payloadIntegrity, 'crc32c', 'crc32c by default');
  t.equal(parseS3Url('s3://my-bucket?payload_integrity=sha256', {}).payloadIntegrity, 'sha256');
  t.equal(parseS3Url('s3://my-bucket?payload_integrity=crc32c', {}).payloadIntegrity, 'crc32c');
  for (const bad of [
    's3://',
    's3://UPPER',
    's3://ab',
    's3://bucket/x?checksums=always',
    's3://bucket/x?endpoint=ftp://h',
    's3://bucket/x?access_key_id=a',
    's3://bucket/x?max_attempts=0',
    's3://bucket/.hidden',
    's3://bucket/x?nope=1',
    's3://bucket/x?payload_integrity=md5',
    's3://bucket/x?payload_integrity=',
  ]) {
    t.throws(() => parseS3Url(bad, {}), { code: 'INVALID_URL' }, bad);
  }
  const err = (() => {
    try {
      parseS3Url('s3://bucket/x?access_key_id=a&secret_access_key=TOPSECRET&bogus=1', {});
    } catch (e) {
      return e as Error;
    }
  })();
  t.notMatch(err?.message ?? '', /TOPSECRET/, 'the secret is not echoed in errors');
});

t.test('retries carry a put and a get through intermittent 503 SlowDown', async (t) => {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
  const store = new S3ObjectStore(
    parseS3Url(storeUrl(proxy.endpoint, '&retry_base_ms=5&retry_cap_ms=50&max_attempts=8')),
  );
  t.teardown(async () => {
    await store.close();
    await proxy.close();
  });
  proxy.faults.slowDownNext = 3;
  await store.put('k/one', Buffer.from('hello'));
  t.equal(proxy.counts.slowDowns, 3);
  t.same(await store.get('k/one'), Buffer.from('hello'));
  t.equal(store.stats.retries, 3, 'one retry per SlowDown');
  t.equal(store.stats.throttled, 3);
  t.equal(store.stats.breakerState, 'closed');

  // A sustained 30% SlowDown rate: every call still succeeds.
  proxy.faults.slowDownProbability = 0.3;
  const keys = Array.from({ length: 40 }, (_, i) => `k/many-${i}`);
  await Promise.all(keys.map((key, i) => store.put(key, patterned(100 + i, i))));
  const bodies = await Promise.all(keys.map((key) => store.get(key)));
  bodies.forEach((body, i) => {
    t.same(body, patterned(100 + i, i));
  });
  t.equal((await collect(store.list('k/'))).length, 41);
  t.ok(proxy.counts.slowDowns > 10, `many SlowDowns injected (${proxy.counts.slowDowns})`);
  t.equal(store.stats.throttled, proxy.counts.slowDowns, 'every SlowDown counted as throttled');

  // 503 on HEAD has no body; still retried and counted.
  proxy.heal();
  proxy.faults.slowDownNext = 2;
  t.equal(await store.head('k/one'), 5);
});

t.test('non-retriable answers are not retried; retries give up after max_attempts', async (t) => {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
  const store = new S3ObjectStore(
    parseS3Url(
      storeUrl(proxy.endpoint, '&retry_base_ms=5&retry_cap_ms=20&max_attempts=3&breaker_failures=100'),
    ),
  );
  t.teardown(async () => {
    await store.close();
    await proxy.close();
  });
  const before = proxy.counts.requests;
  await t.rejects(store.get('missing'), { code: 'OBJECT_NOT_FOUND' });
  t.equal(proxy.counts.requests - before, 1, 'a 404 is answered once, not retried');
  proxy.faults.slowDownNext = 10;
  const err = await store.put('x', Buffer.from('x')).catch((e: unknown) => e);
  t.ok(
    err instanceof ObjectStoreError && err.code === 'OBJECT_STORE_UNAVAILABLE' && err.retriable,
    'UNAVAILABLE, retriable',
  );
  t.equal(proxy.counts.slowDowns, 3, 'exactly max_attempts attempts');
});

t.test('the limiter keeps the request rate under the ceiling', async (t) => {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
  // The "server" throttles above 25 req/s; the store's ceiling is 20 PUT/s.
  proxy.faults.rateLimitPerSec = 25;
  const store = new S3ObjectStore(parseS3Url(storeUrl(proxy.endpoint, '&put_rate=20&put_concurrency=8')));
  t.teardown(async () => {
    await store.close();
    await proxy.close();
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`r/${i}`, patterned(64, i))));
  const elapsedMs = performance.now() - started;
  const peak = proxy.maxInWindow(1000);
  // Starts are >= 50 ms apart, so 21 fit in a closed second (0, 50, ..., 1000 ms); the proxy shares
  // this process's event loop, so its arrival stamps jitter on a loaded machine: allow one more.
  t.ok(peak <= 22, `about 20 requests in any second: ${peak}`);
  t.ok(elapsedMs >= 2300, `50 puts at 20/s take about 2.5 s: ${Math.round(elapsedMs)} ms`);
  t.equal(proxy.counts.slowDowns, 0, 'the server never had to throttle');
  t.equal(store.stats.requests.PUT, 50);
  t.comment(`limiter: 50 PUTs in ${Math.round(elapsedMs)} ms, peak ${peak} req in 1 s`);
});

t.test('the breaker opens during an outage, fails fast, and closes after it', async (t) => {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
  const store = new S3ObjectStore(
    parseS3Url(
      storeUrl(
        proxy.endpoint,
        '&max_attempts=2&retry_base_ms=5&retry_cap_ms=10&request_timeout_ms=300&breaker_failures=4&breaker_cooldown_ms=600',
      ),
    ),
  );
  t.teardown(async () => {
    await store.close();
    await proxy.close();
  });
  await store.put('b/k', Buffer.from('v'));

  proxy.faults.outage = 'reset';
  for (let i = 0; i < 2; i++) {
    await t.rejects(
      store.get('b/k'),
      { code: 'OBJECT_STORE_UNAVAILABLE', retriable: true },
      'reset → UNAVAILABLE',
    );
  }
  t.equal(store.stats.breakerState, 'open', 'open after 4 consecutive failed attempts');
  // Now S3 hangs instead: every call that reached it would cost its 300 ms deadline (x2 attempts).
  proxy.faults.outage = 'hang';
  const sent = proxy.counts.requests;
  const fastStart = performance.now();
  for (let i = 0; i < 20; i++) {
    await t.rejects(store.put(`b/f${i}`, Buffer.from('x')), { code: 'OBJECT_STORE_UNAVAILABLE' });
  }
  const fastMs = performance.now() - fastStart;
  t.equal(proxy.counts.requests, sent, 'nothing is sent while open');
  t.ok(fastMs < 1500, `20 calls failed fast in ${fastMs.toFixed(1)} ms (sent, they would take >= 6 s)`);
  t.ok(store.stats.fastFailures >= 20);

  // Still down when the cool-down ends: the one probe hangs until its deadline, fails, and the
  // breaker re-opens.
  await new Promise((r) => setTimeout(r, 650));
  t.equal(store.stats.breakerState, 'half-open');
  const probeStart = performance.now();
  await t.rejects(store.head('b/k'), { code: 'OBJECT_STORE_UNAVAILABLE' });
  const probeMs = performance.now() - probeStart;
  t.ok(
    probeMs >= 290 && probeMs < 2000,
    `the hung probe ended at its 300 ms deadline (${probeMs.toFixed(0)} ms)`,
  );
  t.equal(proxy.counts.requests, sent + 1, 'exactly one probe went out');
  t.ok(store.stats.timeouts >= 1, 'timeout counted');
  t.equal(store.stats.breakerState, 'open');

  proxy.heal();
  await new Promise((r) => setTimeout(r, 650));
  t.same(await store.get('b/k'), Buffer.from('v'), 'the probe succeeds once the outage is over');
  t.equal(store.stats.breakerState, 'closed');
  await store.put('b/after', Buffer.from('ok'));
  t.equal(await store.head('b/after'), 2);
  t.ok(store.stats.breakerOpens >= 2);
});

t.test('multipart upload of a large body, ranged reads across parts, abort on failure', async (t) => {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
  const store = new S3ObjectStore(parseS3Url(storeUrl(proxy.endpoint, '&retry_base_ms=5&retry_cap_ms=20')));
  t.teardown(async () => {
    await store.close();
    await proxy.close();
  });
  const MiB = 1024 * 1024;
  // 20 MiB + 3 bytes as uneven chunks: above the 16 MiB threshold → 3 parts of 8, 8 and 4 MiB.
  const chunks = [patterned(3 * MiB + 1, 1), patterned(10 * MiB, 2), patterned(7 * MiB + 2, 3)];
  const whole = Buffer.concat(chunks);
  await store.put('big/obj', chunks);
  const log = proxy.requestLog.join('\n');
  t.match(log, /POST \S*big\/obj\?uploads/, 'CreateMultipartUpload');
  t.equal(proxy.requestLog.filter((l) => /^PUT \S*partNumber=/.test(l)).length, 3, 'three parts');
  t.match(log, /POST \S*big\/obj\?uploadId=/, 'CompleteMultipartUpload');
  t.equal(await store.head('big/obj'), whole.length);
  const across = await store.get('big/obj', { start: 8 * MiB - 5, length: 10 });
  t.same(across, whole.subarray(8 * MiB - 5, 8 * MiB + 5), 'range across a part boundary');
  t.ok((await store.get('big/obj')).equals(whole), 'whole object');
  await t.rejects(store.get('big/obj', { start: whole.length - 1, length: 2 }), { code: 'INVALID_RANGE' });

  // Small bodies stay one PutObject.
  const n = proxy.requestLog.length;
  await store.put('small', patterned(16 * MiB, 4));
  t.same(
    proxy.requestLog.slice(n).map((l) => l.split(' ')[0]),
    ['PUT'],
    '16 MiB exactly: one PUT',
  );

  // A part that keeps failing aborts the upload and leaves the previous object in place.
  const failStart = proxy.requestLog.length;
  proxy.faults.slowDownMatching = /^PUT \S*partNumber=2&/;
  const err = await store.put('big/obj', [patterned(17 * MiB, 9)]).catch((e: unknown) => e);
  t.ok(err instanceof ObjectStoreError && err.code === 'OBJECT_STORE_UNAVAILABLE', 'put failed UNAVAILABLE');
  t.ok(
    proxy.requestLog.some((l) => /^DELETE \S*big\/obj\?uploadId=/.test(l)),
    'AbortMultipartUpload sent',
  );
  t.equal(
    proxy.requestLog.slice(failStart).filter((l) => /^PUT \S*partNumber=2&/.test(l)).length,
    6,
    'part 2 tried max_attempts (6) times',
  );
  t.equal(await store.head('big/obj'), whole.length, 'the old object is intact');
});

/** The x-amz-checksum-crc32c value S3 expects for `bytes`: base64 of the big-endian CRC-32C. */
function crc32cHeader(bytes: Buffer): string {
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32BE(crc32c(bytes) >>> 0);
  return crc.toString('base64');
}

t.test('payload_integrity: what each mode puts on the wire, and bytes survive the round trip', async (t) => {
  for (const mode of ['crc32c', 'sha256'] as const) {
    t.test(mode, async (t) => {
      const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
      // Tiny parts so a multipart upload costs little; s3rver does not enforce S3's 5 MiB minimum.
      const store = new S3ObjectStore(
        parseS3Url(
          storeUrl(
            proxy.endpoint,
            `&payload_integrity=${mode}&multipart_threshold_bytes=65536&part_size_bytes=24576`,
          ),
        ),
      );
      t.teardown(async () => {
        await store.close();
        await proxy.close();
      });
      t.equal(store.options.payloadIntegrity, mode);
      proxy.captureRequests = true;
      const small = patterned(1000, 7);
      // 100 KiB + 7 as uneven chunks: above the 64 KiB threshold → parts of 24 KiB ×4 and 4 KiB + 7.
      const chunks = [patterned(30_000, 1), patterned(50_000, 2), patterned(22_407, 3)];
      const large = Buffer.concat(chunks);
      await store.put('pi/small', small);
      await store.put('pi/large', chunks);
      const sent = [...proxy.captured];
      proxy.captureRequests = false;
      t.ok((await store.get('pi/small')).equals(small), 'single PutObject: bytes identical');
      t.ok((await store.get('pi/large')).equals(large), 'multipart: bytes identical');

      const isPut = (r: CapturedRequest) => r.method === 'PUT' && /\/pi\/small(\?|$)/.test(r.url);
      const isPart = (r: CapturedRequest) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url);
      const partNumber = (r: CapturedRequest) => Number(/[?&]partNumber=(\d+)/.exec(r.url)?.[1]);
      const puts = sent.filter(isPut);
      const parts = sent.filter(isPart).sort((a, b) => partNumber(a) - partNumber(b));
      const create = sent.filter((r) => r.method === 'POST' && /\?uploads(=|&|$)/.test(r.url));
      const complete = sent.filter((r) => r.method === 'POST' && /[?&]uploadId=/.test(r.url));
      t.equal(puts.length, 1, 'one PutObject');
      t.same(parts.map(partNumber), [1, 2, 3, 4, 5], 'five UploadParts');
      t.equal(create.length, 1, 'one CreateMultipartUpload');
      t.equal(complete.length, 1, 'one CompleteMultipartUpload');
      t.equal(sent.length, 8, 'nothing else was sent');

      // The bodies arrive as plain bytes (no aws-chunked framing, no trailers): the object itself.
      t.ok(puts[0]!.body.equals(small), 'PutObject body is the object');
      t.ok(Buffer.concat(parts.map((r) => r.body)).equals(large), 'the parts are the object, in order');
      for (const r of [...puts, ...parts]) {
        const what = isPart(r) ? `UploadPart ${partNumber(r)}` : 'PutObject';
        t.equal(r.headers['content-length'], String(r.body.length), `${what}: content-length is the body`);
        t.equal(r.headers['content-encoding'], undefined, `${what}: not aws-chunked`);
        t.equal(r.headers['x-amz-trailer'], undefined, `${what}: no trailing checksum`);
        if (mode === 'crc32c') {
          t.equal(r.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD', `${what}: unsigned payload`);
          t.equal(
            r.headers['x-amz-checksum-crc32c'],
            crc32cHeader(r.body),
            `${what}: x-amz-checksum-crc32c is the CRC-32C of the bytes received`,
          );
          // With the payload unsigned, the signature must cover the CRC instead.
          t.match(
            r.headers.authorization,
            /SignedHeaders=[^,]*\bx-amz-checksum-crc32c\b/,
            `${what}: the CRC header is signed`,
          );
        } else {
          t.equal(
            r.headers['x-amz-content-sha256'],
            createHash('sha256').update(r.body).digest('hex'),
            `${what}: x-amz-content-sha256 is the SHA-256 of the bytes received`,
          );
          t.equal(r.headers['x-amz-checksum-crc32c'], undefined, `${what}: no CRC header`);
        }
      }

      const completeXml = complete[0]!.body.toString('utf8');
      const listed = [...completeXml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
        crc: /<ChecksumCRC32C>([^<]*)<\/ChecksumCRC32C>/.exec(m[1]!)?.[1],
      }));
      t.same(
        listed.map((p) => p.number),
        [1, 2, 3, 4, 5],
        'CompleteMultipartUpload lists every part',
      );
      if (mode === 'crc32c') {
        t.equal(create[0]!.headers['x-amz-checksum-algorithm'], 'CRC32C', 'upload created for CRC32C');
        t.same(
          listed.map((p) => p.crc),
          parts.map((r) => crc32cHeader(r.body)),
          'CompleteMultipartUpload lists the CRC-32C of each part as received',
        );
      } else {
        t.equal(create[0]!.headers['x-amz-checksum-algorithm'], undefined, 'no checksum algorithm');
        t.notMatch(completeXml, /ChecksumCRC32C/, 'no per-part CRC listed');
      }
      t.comment(
        `${mode}: PutObject headers ${Object.keys(puts[0]!.headers)
          .filter((h) => h.startsWith('x-amz-') || h.startsWith('content-'))
          .sort()
          .join(' ')}`,
      );
    });
  }
});

t.test(
  'broker on S3: an outage mid-production loses no acknowledged record; backpressure bounds memory',
  async (t) => {
    const MiB = 1024 * 1024;
    const TOPIC = 's3-outage';
    const PARTITIONS = 3;
    const maxUnuploadedBytes = 4 * MiB;
    const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3Address.port });
    const brokerDir = await mkdtemp(join(tmpdir(), 'streamhouse-s3-e2e-'));
    const brokers: RunningBroker[] = [];
    t.teardown(async () => {
      for (const b of brokers) await b.close().catch(() => undefined);
      await proxy.close();
      await rm(brokerDir, { recursive: true, force: true });
    });
    const objectStoreUrl = storeUrl(
      proxy.endpoint,
      '&request_timeout_ms=1000&max_attempts=3&retry_base_ms=20&retry_cap_ms=200&breaker_failures=3&breaker_cooldown_ms=500',
    );
    const metadataUrl = `sqlite://${join(brokerDir, 'metadata.db')}`;
    const broker = await startBroker({
      listen: { host: '127.0.0.1', port: 0 },
      admin: null,
      dataDir: join(brokerDir, 'broker1'),
      metadataUrl,
      objectStoreUrl,
      maxUnuploadedBytes,
      uploadTargetBytes: MiB,
      uploadMaxAgeMs: 50,
      backpressureTimeoutMs: 20_000,
      logLevel: 'silent',
    });
    brokers.push(broker);

    const kafka = new Kafka({
      clientId: 's3-e2e',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    t.teardown(() => producer.disconnect().catch(() => undefined));

    const filler = 'x'.repeat(1000);
    const acked: string[] = [];
    let ackedBytes = 0;
    let sendErrors = 0;
    let sequence = 0;
    let producing = true;
    const producerLoop = (async () => {
      while (producing) {
        const messages = Array.from({ length: 32 }, () => {
          const id = `m-${sequence++}`;
          return { key: id, value: `${id}|${filler}`, partition: sequence % PARTITIONS };
        });
        try {
          await producer.send({ topic: TOPIC, acks: -1, messages });
          for (const m of messages) acked.push(m.key);
          ackedBytes += messages.length * 1010;
        } catch {
          sendErrors++; // not acknowledged: may or may not be stored, either is fine
        }
      }
    })();

    let peakUnuploaded = 0;
    const sampler = setInterval(() => {
      peakUnuploaded = Math.max(peakUnuploaded, broker.context.log.statsSnapshot.unuploadedBytes);
    }, 10);
    t.teardown(() => clearInterval(sampler));

    await new Promise((r) => setTimeout(r, 1500));
    const uploadedBefore = broker.context.log.statsSnapshot.objectsUploaded;
    t.ok(uploadedBefore > 0, `objects uploaded before the outage: ${uploadedBefore}`);

    // Outage: S3 stops answering (connections hang) for 4 s.
    proxy.faults.outage = 'hang';
    const ackedAtOutage = ackedBytes;
    peakUnuploaded = 0;
    await new Promise((r) => setTimeout(r, 4000));
    const ackedDuringOutage = ackedBytes - ackedAtOutage;
    const peakDuringOutage = peakUnuploaded;
    const failures = broker.context.log.statsSnapshot.uploadFailures;
    proxy.heal();

    t.ok(failures > 0, `uploads failed during the outage: ${failures}`);
    t.ok(proxy.counts.hung > 0, `requests hung: ${proxy.counts.hung}`);
    t.ok(
      peakDuringOutage >= maxUnuploadedBytes - 256 * 1024,
      `backlog reached the cap: ${peakDuringOutage} bytes`,
    );
    t.ok(
      peakDuringOutage <= maxUnuploadedBytes + 256 * 1024,
      `backlog stayed bounded: ${peakDuringOutage} bytes`,
    );
    t.ok(
      ackedDuringOutage <= maxUnuploadedBytes + 256 * 1024,
      `acknowledged during the outage no more than the cap: ${ackedDuringOutage} bytes`,
    );

    // Recovery: production continues and the backlog drains.
    const ackedAtRecovery = acked.length;
    await new Promise((r) => setTimeout(r, 2000));
    producing = false;
    await producerLoop;
    t.ok(
      acked.length > ackedAtRecovery,
      `produce resumed after the outage (${acked.length - ackedAtRecovery} more records)`,
    );
    await broker.context.log.flush();
    t.equal(broker.context.log.statsSnapshot.unuploadedBytes, 0, 'backlog drained');
    t.comment(
      `e2e: ${acked.length} records acked, ${sendErrors} send errors, outage peak backlog ${(peakDuringOutage / MiB).toFixed(2)} MiB, ` +
        `${failures} failed uploads, ${proxy.counts.hung} hung requests`,
    );
    await producer.disconnect();
    await broker.close();
    brokers.length = 0;

    // A second broker with an empty WAL reads everything from the index and the S3 objects.
    const reader = await startBroker({
      listen: { host: '127.0.0.1', port: 0 },
      admin: null,
      dataDir: join(brokerDir, 'broker2'),
      metadataUrl,
      objectStoreUrl,
      logLevel: 'silent',
    });
    brokers.push(reader);
    const { stdout } = await execFileAsync(
      'kcat',
      ['-C', '-b', reader.bootstrap, '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%k\n'],
      { maxBuffer: 256 * MiB, timeout: 60_000 },
    );
    const seen = new Map<string, number>();
    for (const key of stdout.split('\n')) if (key !== '') seen.set(key, (seen.get(key) ?? 0) + 1);
    const missing = acked.filter((k) => !seen.has(k));
    t.same(missing.slice(0, 10), [], `no acknowledged record lost (${missing.length} missing)`);
    t.ok(acked.length > 1000, `${acked.length} records acknowledged`);
    t.ok(
      acked.every((k) => seen.get(k) === 1),
      'no acknowledged record read twice',
    );
  },
);
