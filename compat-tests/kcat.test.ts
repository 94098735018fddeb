// kcat (librdkafka 2.0) against a StreamHouse broker process: metadata listing (-L, -L -J),
// produce with every codec (-z) with per-message keys (-K), headers (-H) and NULLs (-Z), whole
// files as binary messages, and consume from beginning / end / relative / timestamp (-o s@ and
// e@, -Q) with the output parsed by length (%K/%S), so keys, values and headers round-trip byte for
// byte. Every record kcat wrote is also read back with the project's own Fetch decoder.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CompressionName } from '../protocol/records/compression.js';
import { buildRecordBatch } from '../protocol/records/record.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import {
  checkStoredCodec,
  firstDifference,
  makeRng,
  offsetGap,
  randomBytes,
  type TestHeader,
  type TestRecord,
} from './support/records.js';
import { describeRun, findKcat, run, skipFile, type TapTest } from './support/tools.js';
import {
  advertisedApis,
  ensureTopic,
  librdkafkaEffectiveCodec,
  listOffset,
  produceRaw,
  readPartition,
  WireClient,
} from './support/wire-client.js';

t.setTimeout(180_000);

const kcat = findKcat() ?? skipFile(t, 'kcat is not installed (Debian package kcat)');

const broker = await spawnBroker();
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(() => wire.destroy());
const apis = await advertisedApis(wire);
const scratch = mkdtempSync(join(tmpdir(), 'streamhouse-kcat-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

// Producer input framing: records split by 0x1e, key and value by 0x1f (so values may hold newlines).
const RECORD_DELIMITER = 0x1e;
const KEY_DELIMITER = 0x1f;
/** Consumer output: one text line of lengths and headers, then exactly %K key and %S value bytes. */
const FORMAT = '%o %T %K %S %h\\n%k%s\\n';
const HEADERS: TestHeader[] = [
  { key: 'trace', value: Buffer.from('abc-123') },
  { key: 'ünïcode', value: Buffer.from('välue ✓ 日本', 'utf8') },
  { key: 'trace', value: Buffer.from('second') },
];

async function kcatOk(t: TapTest, args: string[], input?: Buffer | string) {
  const r = await run(kcat, ['-b', broker.bootstrap, '-m', '15', ...args], { input, timeoutMs: 45_000 });
  t.equal(r.code, 0, `kcat ${args.join(' ')} exits 0`, { diagnostic: r.code !== 0, detail: describeRun(r) });
  return r;
}

interface Consumed {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: string;
}

/** Parse FORMAT output: binary-safe because key and value are cut by their printed lengths. */
function parseConsumed(out: Buffer): Consumed[] {
  const records: Consumed[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`unterminated header line at byte ${pos}`);
    const line = out.subarray(pos, nl).toString('utf8');
    const [offset, timestamp, keyLength, valueLength, ...rest] = line.split(' ');
    const kl = Number(keyLength);
    const vl = Number(valueLength);
    pos = nl + 1;
    const key = kl < 0 ? null : out.subarray(pos, pos + kl);
    pos += Math.max(kl, 0);
    const value = vl < 0 ? null : out.subarray(pos, pos + vl);
    pos += Math.max(vl, 0);
    if (out[pos] !== 0x0a) throw new Error(`record at offset ${offset}: no newline after key and value`);
    pos++;
    records.push({
      offset: BigInt(offset!),
      timestamp: BigInt(timestamp!),
      key,
      value,
      headers: rest.join(' '),
    });
  }
  return records;
}

function headersText(headers: readonly TestHeader[]): string {
  return headers.map((h) => `${h.key}=${h.value.toString('utf8')}`).join(',');
}

/** Bytes without the two delimiters. */
function clean(b: Buffer): Buffer {
  return Buffer.from(b.map((x) => (x === RECORD_DELIMITER || x === KEY_DELIMITER ? 0x20 : x)));
}

/**
 * Records kcat can express in -K/-D/-Z input, with what it will send: no delimiter → NULL key;
 * with -Z an empty key or value is sent as NULL.
 */
function kcatRecords(seed: number, count: number): { input: Buffer; expected: TestRecord[] } {
  const rng = makeRng(seed);
  const parts: Buffer[] = [];
  const expected: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = i % 5 === 1 ? null : i % 5 === 2 ? Buffer.alloc(0) : Buffer.from(`ключ-${seed}-${i}`, 'utf8');
    let value: Buffer;
    // (An empty input record, no key and no value, is skipped by kcat, so that case is not made.)
    if (i % 9 === 4 && key !== null) value = Buffer.alloc(0);
    else if (i % 4 === 0) value = Buffer.from('compressible text, repeated. '.repeat(200 + i), 'utf8');
    else value = clean(randomBytes(rng, 1 + Math.floor(rng() * 500)));
    parts.push(
      key === null ? value : Buffer.concat([key, Buffer.from([KEY_DELIMITER]), value]),
      Buffer.from([RECORD_DELIMITER]),
    );
    expected.push({
      key: key === null || key.length === 0 ? null : key,
      value: value.length === 0 ? null : value,
      headers: HEADERS,
    });
  }
  return { input: Buffer.concat(parts), expected };
}

function compareConsumed(t: TapTest, got: Consumed[], want: TestRecord[], from: bigint, what: string) {
  t.equal(offsetGap(got, from), null, `${what}: offsets contiguous from ${from}`);
  t.equal(
    firstDifference(
      got.map((r) => ({ ...r, headers: [] })),
      want.map((r) => ({ ...r, headers: [] })),
    ),
    null,
    `${what}: ${want.length} keys and values identical`,
  );
  const badHeaders = got.findIndex((r, i) => r.headers !== headersText(want[i]?.headers ?? []));
  t.equal(badHeaders, -1, `${what}: headers as sent`, { got: got[badHeaders]?.headers });
}

t.test('kcat -L lists the broker', async (t) => {
  const r = await kcatOk(t, ['-L']);
  const text = r.stdout.toString('utf8');
  t.match(text, /1 brokers:/, 'one broker');
  t.match(text, `broker 0 at ${broker.bootstrap} (controller)`, 'advertised address, controller');
});

const codecs: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const produced = new Map<string, TestRecord[]>();

for (const [i, codec] of codecs.entries()) {
  t.test(`produce -z ${codec} with -K, -H, -Z; read back with kcat and with Fetch`, async (t) => {
    const topic = `kcat-${codec}`;
    const { input, expected } = kcatRecords(10 + i, 45);
    const args = ['-P', '-t', topic, '-p', '0', '-K', '\\x1f', '-D', '\\x1e', '-Z'];
    for (const h of HEADERS) args.push('-H', `${h.key}=${h.value.toString('utf8')}`);
    if (codec !== 'none') args.push('-z', codec);
    await kcatOk(t, args, input);
    produced.set(topic, expected);

    const fetched = await readPartition(wire, topic, 0);
    t.equal(offsetGap(fetched), null, 'Fetch: offsets contiguous from 0');
    t.equal(firstDifference(fetched, expected), null, `Fetch: ${expected.length} records identical`);
    const effective = librdkafkaEffectiveCodec(codec, apis);
    if (effective !== codec)
      t.comment(
        `librdkafka sends ${codec} as ${effective}: the broker does not advertise FindCoordinator v0`,
      );
    checkStoredCodec(t, fetched, effective, 'Fetch');

    const r = await kcatOk(t, ['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', FORMAT]);
    compareConsumed(t, parseConsumed(r.stdout), expected, 0n, 'kcat -o beginning');
  });
}

t.test('kcat -L -J shows the topics kcat created', async (t) => {
  const r = await kcatOk(t, ['-L', '-J']);
  const md = JSON.parse(r.stdout.toString('utf8')) as {
    brokers: { id: number; name: string }[];
    topics: { topic: string; partitions: { partition: number; leader: number; isrs: { id: number }[] }[] }[];
  };
  t.same(md.brokers, [{ id: 0, name: broker.bootstrap }], 'brokers');
  for (const codec of codecs) {
    const topic = md.topics.find((x) => x.topic === `kcat-${codec}`);
    t.ok(topic, `kcat-${codec} listed`);
    t.same(
      topic?.partitions.map((p) => [p.partition, p.leader, p.isrs.map((x) => x.id)]),
      [[0, 0, [0]]],
      `kcat-${codec}: partition 0 led by broker 0, in sync`,
    );
  }
});

t.test('files as whole binary messages (-z lz4)', async (t) => {
  const rng = makeRng(77);
  const contents = [
    Buffer.from(Array.from({ length: 256 }, (_, b) => b)), // every byte value
    randomBytes(rng, 300_000), // incompressible, larger than one 64 KiB socket read
    Buffer.from('line one\nline two\r\n\u0000tail', 'utf8'),
  ];
  const files = contents.map((c, i) => {
    const path = join(scratch, `message-${i}.bin`);
    writeFileSync(path, c);
    return path;
  });
  await kcatOk(t, ['-P', '-t', 'kcat-files', '-p', '0', '-z', 'lz4', ...files]);
  const expected = contents.map((value) => ({ key: null, value, headers: [] }));
  t.equal(
    firstDifference(await readPartition(wire, 'kcat-files', 0), expected),
    null,
    'Fetch: files identical',
  );
  const r = await kcatOk(t, ['-C', '-t', 'kcat-files', '-o', 'beginning', '-e', '-f', FORMAT]);
  compareConsumed(t, parseConsumed(r.stdout), expected, 0n, 'kcat');
});

t.test('-o end, -o -N', async (t) => {
  const topic = 'kcat-none';
  const before = produced.get(topic)!;
  const atEnd = await kcatOk(t, ['-C', '-t', topic, '-o', 'end', '-e', '-f', FORMAT]);
  t.equal(atEnd.stdout.length, 0, '-o end -e: nothing');
  const last3 = await kcatOk(t, ['-C', '-t', topic, '-o', '-3', '-e', '-f', FORMAT]);
  compareConsumed(t, parseConsumed(last3.stdout), before.slice(-3), BigInt(before.length - 3), '-o -3');

  // A live consumer at the end sees only what is produced after it started. kcat says nothing when
  // it has its position, so keep producing markers until one arrives, then the real records.
  const consumer = spawn(
    kcat,
    ['-b', broker.bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'end', '-u', '-f', FORMAT],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    consumer.kill('SIGKILL');
  });
  const chunks: Buffer[] = [];
  consumer.stdout.on('data', (c: Buffer) => chunks.push(c));
  const output = () => Buffer.concat(chunks);
  const deadline = Date.now() + 30_000;
  let markers = 0;
  while (output().length === 0 && Date.now() < deadline) {
    await kcatOk(t, ['-P', '-t', topic, '-p', '0', '-K', ':'], `marker:${markers++}\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  t.ok(output().length > 0, `the live consumer got a marker (after ${markers})`);
  const fresh = ['new-1:first', 'new-2:second', 'new-3:third'];
  await kcatOk(t, ['-P', '-t', topic, '-p', '0', '-K', ':'], `${fresh.join('\n')}\n`);
  const endOffset = BigInt(before.length + markers + fresh.length);
  while (Date.now() < deadline) {
    const seen = parseWhole(output());
    if (seen.length > 0 && seen[seen.length - 1]!.offset >= endOffset - 1n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  consumer.kill('SIGTERM');
  const seen = parseWhole(output());
  t.ok(
    seen.length > 0 && seen[0]!.offset >= BigInt(before.length),
    'nothing from before the consumer started',
  );
  t.equal(offsetGap(seen, seen[0]?.offset ?? 0n), null, 'contiguous');
  t.same(
    seen.slice(-fresh.length).map((r) => `${r.key?.toString()}:${r.value?.toString()}`),
    fresh,
    'the records produced after it reached the end',
  );
  t.equal(seen[seen.length - 1]?.offset, endOffset - 1n, 'up to the new log end');
});

/** parseConsumed over output that may end mid-record (a live consumer): drop the incomplete tail. */
function parseWhole(out: Buffer): Consumed[] {
  for (let end = out.length; end > 0; end = out.lastIndexOf(0x0a, end - 2) + 1) {
    try {
      return parseConsumed(out.subarray(0, end));
    } catch {
      // incomplete record at the end: try a shorter prefix
    }
  }
  return [];
}

t.test('-o s@<timestamp>, -o e@<timestamp>, -Q', async (t) => {
  const topic = 'kcat-timestamps';
  await ensureTopic(wire, topic);
  // Written with the project's batch builder so the timestamps are exact: record i at T0 + 1000 i.
  const T0 = Date.now() - 3_600_000;
  const records: TestRecord[] = Array.from({ length: 30 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`value ${i}`),
    headers: [{ key: 'i', value: Buffer.from(String(i)) }],
  }));
  for (let start = 0; start < records.length; start += 10) {
    const batch = buildRecordBatch({
      baseTimestamp: T0 + start * 1000,
      compression: 'gzip',
      records: records.slice(start, start + 10).map((r, j) => ({ ...r, timestampDelta: j * 1000 })),
    });
    const res = await produceRaw(wire, topic, 0, batch);
    t.equal(res.errorCode, 0, `batch at ${start} acknowledged`);
  }
  const from = await kcatOk(t, ['-C', '-t', topic, '-o', `s@${T0 + 10_500}`, '-e', '-f', FORMAT]);
  const got = parseConsumed(from.stdout);
  compareConsumed(t, got, records.slice(11), 11n, `-o s@T0+10.5s`);
  t.same(
    got.map((r) => r.timestamp),
    records.slice(11).map((_, i) => BigInt(T0 + (11 + i) * 1000)),
    'timestamps as written',
  );
  const window = await kcatOk(t, [
    '-C',
    '-t',
    topic,
    '-o',
    `s@${T0 + 5_000}`,
    '-o',
    `e@${T0 + 8_000}`,
    '-e',
    '-f',
    FORMAT,
  ]);
  compareConsumed(t, parseConsumed(window.stdout), records.slice(5, 8), 5n, '-o s@T0+5s -o e@T0+8s');
  const q = await kcatOk(t, ['-Q', '-t', `${topic}:0:${T0 + 20_000}`]);
  t.match(q.stdout.toString(), `${topic} [0] offset 20`, '-Q finds offset 20 for T0+20s');
  const qEnd = await kcatOk(t, ['-Q', '-t', `${topic}:0:${Date.now() + 60_000}`]);
  t.match(qEnd.stdout.toString(), /offset -1\b/, '-Q after every record: -1 (end)');
  t.equal(await listOffset(wire, topic, 0, -1n), 30n, 'log end 30');
});

t.test('broker stops cleanly; versions librdkafka used', async (t) => {
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  const ours = (exit.requests ?? []).filter((r) => r.clientId === 'rdkafka');
  t.ok(ours.length > 0, 'the broker recorded kcat requests');
  for (const r of ours) t.comment(`kcat ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
});
