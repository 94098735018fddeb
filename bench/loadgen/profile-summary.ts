/**
 * Summarise a V8 .cpuprofile (from `--cpu-prof DIR` on a broker benchmark): self time by function
 * and total (inclusive) time of the functions that matter, as percentages of the profile.
 *
 *   node dist/bench/loadgen/profile-summary.js DIR/CPU.*.cpuprofile [--top 30]
 *
 * Inclusive time counts a function once per sample even when it recurses.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

function main(): void {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
  const topIdx = process.argv.indexOf('--top');
  const top = topIdx >= 0 ? Number(process.argv[topIdx + 1]) : 30;
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (node === undefined) return;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  });
  const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)}%`;
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (of ${(total / 1e6).toFixed(2)} s sampled)`);
    for (const [name, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${pct(v)}  ${name}`);
  };
  print('self time', self);
  print('inclusive time', inclusive);
}

main();
