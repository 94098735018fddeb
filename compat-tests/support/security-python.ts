/**
 * Driving the Python security scripts (compat-tests/python/security_*.py, formats in
 * security_io.py): run a job under /usr/bin/python3 with a time limit, parse the report, and check a
 * round trip (every record acknowledged at partition 0 in order, read back exactly) or a refusal.
 */
import { roundTripRecords } from './security.js';
import { describeRun, pythonScript, run, SYSTEM_PYTHON, type TapTest } from './tools.js';

export interface SecurityJob {
  bootstrap: string;
  topic: string;
  clientId: string;
  timeoutS: number;
  /** Passed to the client unchanged (librdkafka property names, or kafka-python keyword arguments). */
  settings: Record<string, string | number | boolean>;
  records: { key: string; value: string }[];
  expect: 'ok' | 'fail';
}

export interface SecurityReport {
  client: string;
  produced: ({
    index: number;
    partition: number | null;
    offset: number | null;
    error: string | null;
  } | null)[];
  consumed: { partition: number; offset: number; key: string | null; value: string | null }[];
  errors: { code: string | null; message: string }[];
  log: string[];
  elapsed_s: number;
}

export async function runSecurityJob(script: string, job: SecurityJob): Promise<SecurityReport> {
  const input = JSON.stringify({
    bootstrap: job.bootstrap,
    topic: job.topic,
    client_id: job.clientId,
    timeout_s: job.timeoutS,
    settings: job.settings,
    records: job.records,
    expect: job.expect,
  });
  const r = await run(SYSTEM_PYTHON, [pythonScript(script)], {
    input,
    timeoutMs: (job.timeoutS * 4 + 20) * 1000,
  });
  if (r.code !== 0) throw new Error(`${script}: ${describeRun(r)}`);
  try {
    return JSON.parse(r.stdout.toString('utf8')) as SecurityReport;
  } catch {
    throw new Error(`${script}: no JSON report on stdout (${r.stdout.length} bytes); ${describeRun(r)}`);
  }
}

/** A job of `count` records for `topic`. */
export function securityJob(
  bootstrap: string,
  topic: string,
  settings: SecurityJob['settings'],
  opts: { count?: number; expect?: 'ok' | 'fail'; clientId?: string; timeoutS?: number } = {},
): SecurityJob {
  return {
    bootstrap,
    topic,
    clientId: opts.clientId ?? `compat-security-${topic}`,
    timeoutS: opts.timeoutS ?? (opts.expect === 'fail' ? 6 : 20),
    settings,
    records: roundTripRecords(topic, opts.count ?? 20),
    expect: opts.expect ?? 'ok',
  };
}

/** Assert a round trip: no errors, every record acknowledged at 0:i, partition 0 read back exactly. */
export function checkRoundTrip(t: TapTest, job: SecurityJob, report: SecurityReport): void {
  t.same(report.errors, [], `${job.topic}: no client errors`, { log: report.log.slice(-15) });
  t.same(
    report.produced.map((p) =>
      p === null ? null : { partition: p.partition, offset: p.offset, error: p.error },
    ),
    job.records.map((_, i) => ({ partition: 0, offset: i, error: null })),
    `${job.topic}: every one of ${job.records.length} records acknowledged at partition 0, offsets in send order`,
  );
  t.same(
    report.consumed,
    job.records.map((r, i) => ({ partition: 0, offset: i, key: r.key, value: r.value })),
    `${job.topic}: read back ${job.records.length} records at offsets 0..${job.records.length - 1}, keys and values exact`,
  );
  t.comment(
    `${report.client}, ${job.topic}: produced ${report.produced.length} (${job.records[0]?.key}=${job.records[0]?.value} …), ` +
      `consumed ${report.consumed.length}, ${report.elapsed_s} s`,
  );
}

/** Assert a refusal: nothing acknowledged, nothing consumed (the caller checks how it was refused). */
export function checkRefused(t: TapTest, job: SecurityJob, report: SecurityReport, what: string): void {
  t.same(
    report.produced.filter((p) => p !== null && p.error === null),
    [],
    `${what}: no record of ${job.topic} acknowledged`,
  );
  t.same(report.consumed, [], `${what}: nothing consumed`);
  t.comment(
    `${report.client}, ${what}: refused in ${report.elapsed_s} s; errors: ${JSON.stringify(report.errors).slice(0, 400)}`,
  );
}
