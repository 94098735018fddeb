/**
 * Driving the Python client scripts (compat-tests/python/*.py, formats in compat_io.py): build a
 * job from test records, run it under /usr/bin/python3 with a time limit, parse the report, and
 * check it — every record acknowledged at the expected partition and offset, and everything read
 * back byte for byte in order.
 */
import { firstDifference, offsetGap, type TestRecord } from './records.js';
import { describeRun, pythonScript, run, SYSTEM_PYTHON, type TapTest } from './tools.js';
import type { ReadRecord } from './wire-client.js';

export interface PythonJob {
  bootstrap: string;
  topic: string;
  partitions: number;
  compression: string;
  clientId: string;
  timeoutS: number;
  records: readonly TestRecord[];
  /** Record i gets timestamp baseTimestamp + i; null leaves it to the client. */
  baseTimestamp: number | null;
}

export interface PythonReport {
  client: string;
  delivered: ({
    index: number;
    partition: number | null;
    offset: number | null;
    error: string | null;
  } | null)[];
  consumed: {
    partition: number;
    offset: number;
    timestamp: number;
    key: string | null;
    value: string | null;
    headers: [string, string | null][];
  }[];
  errors: string[];
}

const b64 = (b: Buffer | null) => (b === null ? null : b.toString('base64'));
const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));

/** Run `script` on `job`; rejects with the script's stderr if it fails or prints no report. */
export async function runPythonJob(script: string, job: PythonJob): Promise<PythonReport> {
  const input = JSON.stringify({
    bootstrap: job.bootstrap,
    topic: job.topic,
    partitions: job.partitions,
    compression: job.compression,
    client_id: job.clientId,
    timeout_s: job.timeoutS,
    records: job.records.map((r, i) => ({
      partition: i % job.partitions,
      key: b64(r.key),
      value: b64(r.value),
      headers: r.headers.map((h) => [h.key, b64(h.value)]),
      timestamp: job.baseTimestamp === null ? null : job.baseTimestamp + i,
    })),
  });
  const r = await run(SYSTEM_PYTHON, [pythonScript(script)], {
    input,
    timeoutMs: (job.timeoutS * 3 + 30) * 1000,
  });
  if (r.code !== 0) throw new Error(`${script}: ${describeRun(r)}`);
  try {
    return JSON.parse(r.stdout.toString('utf8')) as PythonReport;
  } catch {
    throw new Error(`${script}: no JSON report on stdout (${r.stdout.length} bytes); ${describeRun(r)}`);
  }
}

/** The records of `job` that went to `partition`, in send order. */
export function expectedFor(job: PythonJob, partition: number): TestRecord[] {
  return job.records.filter((_, i) => i % job.partitions === partition);
}

/**
 * Assert the report: no client errors; a delivery report per record, without error, at the record's
 * partition, offsets 0.. in send order per partition; the consumer read back exactly what was sent.
 */
export function checkReport(t: TapTest, job: PythonJob, report: PythonReport): void {
  t.same(report.errors, [], `${report.client}: no client errors`);
  const nextOffset = new Array<number>(job.partitions).fill(0);
  const problems: string[] = [];
  job.records.forEach((_, i) => {
    const d = report.delivered[i];
    const partition = i % job.partitions;
    const want = nextOffset[partition]!++;
    if (d == null) problems.push(`record ${i}: no delivery report`);
    else if (d.error !== null) problems.push(`record ${i}: ${d.error}`);
    else if (d.partition !== partition || d.offset !== want)
      problems.push(`record ${i}: acknowledged at ${d.partition}@${d.offset}, expected ${partition}@${want}`);
  });
  t.same(
    problems.slice(0, 5),
    [],
    `every one of ${job.records.length} records acknowledged at its partition and next offset`,
  );

  for (let p = 0; p < job.partitions; p++) {
    const want = expectedFor(job, p);
    const got = report.consumed
      .filter((c) => c.partition === p)
      .map((c) => ({
        offset: BigInt(c.offset),
        timestamp: BigInt(c.timestamp),
        key: unb64(c.key),
        value: unb64(c.value),
        headers: c.headers.map(([key, value]) => ({ key, value: unb64(value) })),
      }));
    t.equal(offsetGap(got), null, `consumer, partition ${p}: offsets contiguous from 0`);
    t.equal(firstDifference(got, want), null, `consumer, partition ${p}: ${want.length} records identical`);
    if (job.baseTimestamp !== null) {
      const base = job.baseTimestamp;
      const wantTs = job.records.flatMap((_, i) => (i % job.partitions === p ? [BigInt(base + i)] : []));
      t.same(
        got.map((r) => r.timestamp),
        wantTs,
        `consumer, partition ${p}: timestamps as sent`,
      );
    }
  }
}

/** Assert what the broker serves over Fetch for one partition equals what the job sent there. */
export function checkFetched(
  t: TapTest,
  job: PythonJob,
  partition: number,
  fetched: readonly ReadRecord[],
): void {
  t.equal(offsetGap(fetched), null, `Fetch, partition ${partition}: offsets contiguous from 0`);
  t.equal(
    firstDifference(fetched, expectedFor(job, partition)),
    null,
    `Fetch, partition ${partition}: records identical`,
  );
}
