/**
 * What a consumer group did, and the at-least-once rules it must obey. The group compat tests
 * (kafkajs, librdkafka, kafka-python) record every consumed record, every rebalance a consumer went
 * through and every commit the broker acknowledged, with times from one clock (the test process, or
 * the Python script's time.time() in milliseconds, which is the same wall clock), then check:
 *
 * 1. Every produced record was consumed at least once.
 * 2. A record consumed again (same partition and offset) is re-consumed only by a consumer that
 *    went through a rebalance since the previous consumption, and only if no commit past it had
 *    been acknowledged before that rebalance — i.e. duplicates happen only around a rebalance and
 *    only for records whose commit had not landed. Anything else is the broker handing out data or
 *    offsets it should not.
 */

export interface Consumption {
  consumer: string;
  partition: number;
  offset: number;
  value: string;
  timeMs: number;
}

export interface Rebalance {
  consumer: string;
  /** When the consumer had its new assignment (after SyncGroup). */
  timeMs: number;
}

export interface Commit {
  partition: number;
  /** The committed position: the next offset to consume. */
  offset: number;
  /** When the client saw the commit acknowledged. */
  timeMs: number;
}

export interface GroupRunReport {
  missing: string[];
  /** Re-consumptions that break rule 2, described. */
  violations: string[];
  /** Records consumed more than once (all of them legitimate if violations is empty). */
  duplicates: number;
  consumed: number;
}

export function checkGroupRun(
  produced: Iterable<string>,
  consumptions: readonly Consumption[],
  rebalances: readonly Rebalance[],
  commits: readonly Commit[],
): GroupRunReport {
  const seen = new Set(consumptions.map((c) => c.value));
  const missing = [...produced].filter((v) => !seen.has(v));

  const byRecord = new Map<string, Consumption[]>();
  for (const c of consumptions) {
    const key = `${c.partition}@${c.offset}`;
    const list = byRecord.get(key) ?? [];
    byRecord.set(key, list);
    list.push(c);
  }
  const committedBefore = (partition: number, timeMs: number) => {
    let max = -1;
    for (const c of commits)
      if (c.partition === partition && c.timeMs < timeMs && c.offset > max) max = c.offset;
    return max;
  };
  const sortedRebalances = [...rebalances].sort((a, b) => a.timeMs - b.timeMs);
  const violations: string[] = [];
  let duplicates = 0;
  for (const [key, list] of byRecord) {
    if (list.length < 2) continue;
    duplicates++;
    list.sort((a, b) => a.timeMs - b.timeMs);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const again = list[i]!;
      if (again.value !== prev.value) {
        violations.push(`${key}: two different values (${prev.value}, ${again.value})`);
        continue;
      }
      const rebalance = sortedRebalances
        .filter((r) => r.consumer === again.consumer && r.timeMs >= prev.timeMs && r.timeMs <= again.timeMs)
        .pop();
      if (rebalance === undefined) {
        violations.push(
          `${key}: consumed again by ${again.consumer} at ${again.timeMs} with no rebalance since ${prev.timeMs}`,
        );
        continue;
      }
      const committed = committedBefore(again.partition, rebalance.timeMs);
      if (committed > again.offset) {
        violations.push(
          `${key}: re-consumed by ${again.consumer} although offset ${committed} was committed before its rebalance`,
        );
      }
    }
  }
  return { missing, violations, duplicates, consumed: consumptions.length };
}
