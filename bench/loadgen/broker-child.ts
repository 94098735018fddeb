/**
 * A broker in its own process for benchmarks (spawned by broker-process.ts through IPC): startBroker
 * with the options given as JSON in argv[2], then "ready" with the bound port. On "stats" it answers
 * the metric values; "profile-start" / "profile-stop" run the V8 CPU profiler (inspector) over exactly
 * the measured window and write a .cpuprofile; on "stop" it closes the broker and exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type StartBrokerOptions, startBroker } from '../../src/broker/broker.js';

export type ChildRequest =
  | { type: 'stats' }
  | { type: 'window-start' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; path: string }
  | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; host: string; port: number }
  | { type: 'stats'; values: Record<string, number> }
  | { type: 'profiled' }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

let session: Session | null = null;
/** Event-loop delay (how late timers fire): a blocked loop delays every request on every connection. */
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function profileStart(): Promise<void> {
  session = new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
}

async function profileStop(path: string): Promise<void> {
  if (session === null) return;
  const { profile } = (await post('Profiler.stop')) as { profile: object };
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
  session = null;
}

function reply(m: ChildMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as StartBrokerOptions;
  const broker = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    logLevel: 'warn',
    ...options,
  });
  process.on('message', (m: ChildRequest) => {
    if (m.type === 'stats') {
      void broker.metrics.registry.getMetricsAsJSON().then((metrics) => {
        const values: Record<string, number> = {};
        for (const metric of metrics) {
          for (const v of metric.values as { value: number; labels: object; metricName?: string }[]) {
            const name = v.metricName ?? metric.name;
            // Buckets only for the WAL fsync histogram (the p99 bound the report prints).
            if (name.endsWith('_bucket') && name !== 'streamhouse_wal_fsync_duration_seconds_bucket')
              continue;
            const labels = Object.entries(v.labels)
              .map(([k, l]) => `${k}=${String(l)}`)
              .join(',');
            values[labels === '' ? name : `${name}{${labels}}`] = v.value;
          }
        }
        // Event-loop busy time (ms) since start: with wall time, how saturated the loop is.
        values.event_loop_active_ms = performance.eventLoopUtilization().active;
        values.event_loop_delay_p99_ms = loopDelay.percentile(99) / 1e6;
        values.event_loop_delay_max_ms = loopDelay.max / 1e6;
        reply({ type: 'stats', values });
      });
    } else if (m.type === 'window-start') {
      loopDelay.reset();
      reply({ type: 'stats', values: {} });
    } else if (m.type === 'profile-start') {
      void profileStart().then(() => reply({ type: 'profiled' }));
    } else if (m.type === 'profile-stop') {
      void profileStop(m.path).then(() => reply({ type: 'profiled' }));
    } else if (m.type === 'stop') {
      broker.close().then(
        () => {
          reply({ type: 'stopped' });
          process.exit(0);
        },
        (err: unknown) => {
          reply({ type: 'failed', message: String(err) });
          process.exit(1);
        },
      );
    }
  });
  reply({ type: 'ready', host: broker.host, port: broker.port });
}

main().catch((err: unknown) => {
  reply({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
