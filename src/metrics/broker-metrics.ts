/**
 * Prometheus metrics of one broker (prom-client, a registry per broker so several in-process
 * brokers do not collide). Request metrics are pushed by the dispatcher; log, WAL and connection
 * figures are pulled at scrape time from the components that own them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { apiKeyName } from '../../protocol/api-keys.js';
import type { LogStoreStats } from '../log/log-store.js';
import type { WalFileOps } from '../log/wal/files.js';
import { nodeFileOps } from '../log/wal/files.js';
import type { DispatchObserver } from '../server/dispatcher.js';

export interface MetricSources {
  connections(): number;
  bytesIn(): number;
  bytesOut(): number;
  log(): LogStoreStats;
  wal(): { appends: number; writes: number; fsyncs: number; bytesWritten: number } | null;
  /** Object store request counters (S3 only; null for local/memory stores). */
  objectStore?(): {
    requests: Record<string, number>;
    failures: Record<string, number>;
    retries: number;
    throttled: number;
    breakerState: string;
    queued: number;
  } | null;
}

export class BrokerMetrics implements DispatchObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'api'>;
  private readonly errors: Counter<'api'>;
  private readonly latency: Histogram<'api'>;
  readonly fsyncLatency: Histogram;
  readonly walWriteBytes: Histogram;
  readonly uploadDuration: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'streamhouse_requests_total',
      help: 'Kafka requests handled, by API',
      labelNames: ['api'],
      registers,
    });
    this.errors = new Counter({
      name: 'streamhouse_request_errors_total',
      help: 'Requests whose handler failed, by API',
      labelNames: ['api'],
      registers,
    });
    this.latency = new Histogram({
      name: 'streamhouse_request_duration_seconds',
      help: 'Time from decoded request to response body, by API (includes fsync wait and long polls)',
      labelNames: ['api'],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.fsyncLatency = new Histogram({
      name: 'streamhouse_wal_fsync_duration_seconds',
      help: 'fdatasync latency of WAL group commits',
      buckets: [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers,
    });
    this.walWriteBytes = new Histogram({
      name: 'streamhouse_wal_write_bytes',
      help: 'Bytes per WAL group write (one writev + one fdatasync)',
      buckets: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
      registers,
    });
    this.uploadDuration = new Histogram({
      name: 'streamhouse_upload_duration_seconds',
      help: 'Time to PUT an object and commit its index',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('streamhouse_connections', 'Open client connections', () => sources.connections());
    gauge('streamhouse_bytes_in_total', 'Bytes received from clients', () => sources.bytesIn());
    gauge('streamhouse_bytes_out_total', 'Bytes sent to clients', () => sources.bytesOut());
    gauge(
      'streamhouse_upload_backlog_bytes',
      'Durable bytes not yet uploaded to the object store',
      () => sources.log().unuploadedBytes,
    );
    gauge(
      'streamhouse_upload_lag_seconds',
      'Age of the oldest batch not yet uploaded',
      () => sources.log().uploadLagMs / 1000,
    );
    gauge(
      'streamhouse_hot_tail_bytes',
      'Bytes of recent batches held in memory',
      () => sources.log().hotBytes,
    );
    gauge(
      'streamhouse_objects_uploaded_total',
      'Objects written to the object store',
      () => sources.log().objectsUploaded,
    );
    gauge(
      'streamhouse_bytes_uploaded_total',
      'Bytes written to the object store',
      () => sources.log().bytesUploaded,
    );
    gauge(
      'streamhouse_upload_failures_total',
      'Failed upload attempts (retried)',
      () => sources.log().uploadFailures,
    );
    gauge(
      'streamhouse_compaction_passes_total',
      'Log compaction passes (one partition range each)',
      () => sources.log().compactionPasses,
    );
    gauge(
      'streamhouse_compaction_bytes_before_total',
      'Bytes of the ranges compaction passes read',
      () => sources.log().compactionBytesBefore,
    );
    gauge(
      'streamhouse_compaction_bytes_after_total',
      'Bytes compaction passes kept (after rewriting)',
      () => sources.log().compactionBytesAfter,
    );
    gauge(
      'streamhouse_compaction_failures_total',
      'Failed compaction passes (retried after log.cleaner.backoff.ms)',
      () => sources.log().compactionFailures,
    );
    gauge(
      'streamhouse_wal_bytes',
      'Bytes on disk in the WAL above its checkpoint',
      () => sources.log().walBytes,
    );
    gauge(
      'streamhouse_wal_appends_total',
      'WAL appends (one per produce request)',
      () => sources.wal()?.appends ?? 0,
    );
    gauge(
      'streamhouse_wal_fsyncs_total',
      'WAL fdatasync calls (group commits)',
      () => sources.wal()?.fsyncs ?? 0,
    );
    const store = () => sources.objectStore?.() ?? null;
    new Gauge({
      name: 'streamhouse_object_store_requests_total',
      help: 'Object store requests sent (S3), by operation',
      labelNames: ['op'],
      registers,
      collect() {
        const s = store();
        if (s) for (const [op, n] of Object.entries(s.requests)) this.set({ op }, n);
      },
    });
    new Gauge({
      name: 'streamhouse_object_store_failures_total',
      help: 'Object store requests that failed (S3), by operation',
      labelNames: ['op'],
      registers,
      collect() {
        const s = store();
        if (s) for (const [op, n] of Object.entries(s.failures)) this.set({ op }, n);
      },
    });
    gauge(
      'streamhouse_object_store_retries_total',
      'Object store request retries (S3)',
      () => store()?.retries ?? 0,
    );
    gauge(
      'streamhouse_object_store_throttled_total',
      'Object store 503 SlowDown answers (S3)',
      () => store()?.throttled ?? 0,
    );
    gauge(
      'streamhouse_object_store_queued',
      'Object store requests waiting for a rate limiter',
      () => store()?.queued ?? 0,
    );
    gauge(
      'streamhouse_object_store_breaker_open',
      'Circuit breaker state: 0 closed, 0.5 half-open, 1 open',
      () => {
        const state = store()?.breakerState;
        return state === 'open' ? 1 : state === 'half-open' ? 0.5 : 0;
      },
    );
  }

  onRequest(apiKey: number, _apiVersion: number, durationMs: number, failed: boolean): void {
    const api = apiKeyName(apiKey) ?? String(apiKey);
    this.requests.inc({ api });
    if (failed) this.errors.inc({ api });
    this.latency.observe({ api }, durationMs / 1000);
  }

  onUpload(bytes: number, durationMs: number): void {
    void bytes;
    this.uploadDuration.observe(durationMs / 1000);
  }

  /** WAL file operations that time every fdatasync and record every group write's size. */
  timedWalFileOps(): WalFileOps {
    return {
      writev: async (fd, buffers, position) => {
        const n = await nodeFileOps.writev(fd, buffers, position);
        this.walWriteBytes.observe(n);
        return n;
      },
      fdatasync: async (fd) => {
        const end = this.fsyncLatency.startTimer();
        await nodeFileOps.fdatasync(fd);
        end();
      },
    };
  }
}
