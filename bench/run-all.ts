/**
 * Run every benchmark script in sequence (`npm run bench` = build, then this): the known ones in a
 * fixed order (cheapest first), then any other top-level bench/*.js that appeared since, each in its
 * own node process with its default flags. A script that is not there is skipped; the exit code is
 * non-zero if any script failed.
 *
 *   npm run bench                     all of them
 *   node dist/bench/run-all.js wal    only the named ones
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const KNOWN = ['crc32c', 'record-batch', 'protocol', 'wal', 'broker-produce', 'broker-consume'];

function scripts(): string[] {
  const found = readdirSync(HERE)
    .filter((f) => f.endsWith('.js'))
    .map((f) => basename(f, '.js'))
    .filter((name) => name !== 'run-all' && !KNOWN.includes(name))
    .sort();
  return [...KNOWN, ...found];
}

function main(): void {
  const only = process.argv.slice(2);
  const failed: string[] = [];
  for (const name of scripts()) {
    if (only.length > 0 && !only.includes(name)) continue;
    const path = join(HERE, `${name}.js`);
    if (!existsSync(path)) {
      console.log(`\n=== ${name}: not present, skipped`);
      continue;
    }
    console.log(`\n=== ${name} (node ${join('dist', 'bench', `${name}.js`)})`);
    const started = performance.now();
    const r = spawnSync(process.execPath, [path], { stdio: 'inherit' });
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    if (r.status !== 0) {
      failed.push(name);
      console.log(`=== ${name}: FAILED (exit ${r.status ?? r.signal}) after ${seconds} s`);
    } else {
      console.log(`=== ${name}: done in ${seconds} s`);
    }
  }
  if (failed.length > 0) {
    console.log(`\nfailed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main();
