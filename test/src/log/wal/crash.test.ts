import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { WriteAheadLog } from '../../../../src/log/wal/index.js';
import { CRASH_SEGMENT_BYTES, checkPayload, crashPayloadSize, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));

interface Ack {
  seq: number;
  lsn: number;
  endLsn: number;
}

/** Runs the child until it has acknowledged `killAfter` appends (plus a random few ms), then SIGKILLs it. */
function runAndKill(
  dir: string,
  firstSeq: number,
  killAfter: number,
): Promise<{ acks: Ack[]; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(firstSeq)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acks: Ack[] = [];
    const lines: string[] = [];
    let partial = '';
    let killing = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      partial += chunk;
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const line of complete) {
        lines.push(line);
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'ack') acks.push({ seq: Number(a), lsn: Number(b), endLsn: Number(c) });
        if (kind === 'error') reject(new Error(`child: ${line}`));
      }
      if (!killing && acks.length >= killAfter) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 5));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      // The last line may lack its newline only if the child died mid-write: an ack is complete or absent.
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal}`));
      else resolve({ acks, lines });
    });
  });
}

t.test('every append acknowledged before SIGKILL is replayed intact, over several crashes', async (t) => {
  const dir = await tempDir(t, 'wal-crash-');
  const acked = new Map<number, Ack>();
  for (let round = 0; round < 4; round++) {
    const { acks, lines } = await runAndKill(dir, round * 1_000_000, 400 + Math.floor(Math.random() * 800));
    t.ok(acks.length >= 400, `round ${round}: ${acks.length} acks before the kill`);
    t.match(lines[0] ?? '', /^open /, 'the child reopened the log');
    const checkpoints = lines.filter((line) => line.startsWith('ckpt ')).length;
    t.comment(`round ${round}: ${lines[0]}, ${acks.length} acks, ${checkpoints} checkpoints`);
    for (const ack of acks) acked.set(ack.seq, ack);
  }

  const wal = await WriteAheadLog.open(dir, { segmentBytes: CRASH_SEGMENT_BYTES });
  const found = new Map<number, { lsn: number; endLsn: number }>();
  let previousEnd = wal.checkpointLsn;
  let broken = 0;
  await wal.replay(wal.checkpointLsn, (payload, lsn, endLsn) => {
    if (lsn !== previousEnd) broken++;
    previousEnd = endLsn;
    const seq = checkPayload(payload);
    if (seq < 0 || payload.length !== crashPayloadSize(seq)) broken++;
    else found.set(seq, { lsn, endLsn });
  });
  t.equal(broken, 0, 'every replayed entry is intact and contiguous');
  let checked = 0;
  let missing = 0;
  for (const ack of acked.values()) {
    if (ack.lsn < wal.checkpointLsn) continue; // uploaded and checkpointed: legitimately gone
    checked++;
    const got = found.get(ack.seq);
    if (!got || got.lsn !== ack.lsn || got.endLsn !== ack.endLsn) missing++;
  }
  t.ok(checked > 100, `${checked} acknowledged entries above the checkpoint ${wal.checkpointLsn}`);
  t.equal(missing, 0, 'no acknowledged append was lost');
  await wal.close();
});
