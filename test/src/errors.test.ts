/**
 * The runbooks stay true to the code: every broker error code (src/errors.ts) has its section in
 * runbooks/broker-errors.md, under the anchor StreamhouseError's message points at, and every Kafka
 * error named in runbooks/kafka-error-codes.md exists in protocol/error-codes.ts with the code number
 * and retriable flag the runbook states.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ErrorCode, errorInfo } from '../../protocol/error-codes.js';
import { BROKER_ERROR_CODES, type BrokerErrorCode, StreamhouseError } from '../../src/errors.js';

// dist/test/src/ → the project root
const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** GitHub's heading anchor: lower-case, spaces to dashes, punctuation other than - and _ dropped. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

t.test('every broker error code has a section in runbooks/broker-errors.md', async (t) => {
  const doc = read('runbooks/broker-errors.md');
  const headings = [...doc.matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim());
  const codes = Object.keys(BROKER_ERROR_CODES) as BrokerErrorCode[];
  t.ok(codes.length >= 5, `${codes.length} codes`);
  for (const code of codes) {
    t.match(code, /^SH_[A-Z_]+$/, `${code} is an SH_ code`);
    t.ok(BROKER_ERROR_CODES[code].length > 10, `${code} has a description`);
    t.ok(headings.includes(code), `## ${code} heading`);
    t.equal(slug(code), code.toLowerCase(), `the heading's anchor is #${code.toLowerCase()}`);
    t.ok(doc.includes(`(#${code.toLowerCase()})`), `the index links #${code.toLowerCase()}`);
    const section = doc.split(`## ${code}\n`)[1]?.split(/^## /m)[0] ?? '';
    for (const part of ['**Means:**', '**Likely causes:**', '**Do:**'])
      t.ok(section.includes(part), `${code} has ${part}`);
  }
  for (const h of headings.filter((h) => h.startsWith('SH_')))
    t.ok(h in BROKER_ERROR_CODES, `section ${h} documents an existing code`);
});

t.test('StreamhouseError points at its runbook section', async (t) => {
  const err = new StreamhouseError('SH_DATA_DIR_LOCKED', 'data dir /x is locked', {
    cause: new Error('inner'),
  });
  t.equal(err.code, 'SH_DATA_DIR_LOCKED');
  t.equal(err.name, 'StreamhouseError');
  t.match(err.message, /^SH_DATA_DIR_LOCKED: data dir \/x is locked/);
  t.match(err.message, /runbooks\/broker-errors\.md#sh_data_dir_locked/);
  t.equal((err.cause as Error).message, 'inner');
});

t.test(
  'every Kafka error named in runbooks/kafka-error-codes.md exists, with its number and retriable flag',
  async (t) => {
    const doc = read('runbooks/kafka-error-codes.md');
    const names = new Set<string>();
    for (const m of doc.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)) {
      // Environment variables and broker codes are not Kafka errors.
      if (!m[0].startsWith('STREAMHOUSE_') && !m[0].startsWith('SH_')) names.add(m[0]);
    }
    t.ok(names.size >= 20, `${names.size} names found`);
    for (const name of names) t.ok(name in ErrorCode, `${name} is in protocol/error-codes.ts`);

    // The index table: | code | [NAME](#NAME) | yes/no |
    let rows = 0;
    for (const m of doc.matchAll(/^\|\s*(-?\d+)\s*\|\s*\[([A-Z_]+)\]\(#([A-Z_]+)\)\s*\|\s*(yes|no)\s*\|/gm)) {
      rows++;
      const [, code, name, anchor, retriable] = m;
      const info = errorInfo(Number(code));
      t.equal(info?.name, name, `code ${code} is ${name}`);
      t.equal(info?.retriable, retriable === 'yes', `${name} retriable=${retriable}`);
      t.ok(doc.includes(`<a id="${anchor}"></a>`), `${name} has its anchor`);
    }
    t.ok(rows >= 20, `${rows} index rows`);

    // Each section's "Code N · retriable" line.
    let sections = 0;
    for (const m of doc.matchAll(/^## ([A-Z_]+)\n+Code (-?\d+) · (not retriable|retriable)\b/gm)) {
      const [, name, code, retriable] = m;
      t.equal(ErrorCode[name as keyof typeof ErrorCode], Number(code), `${name} section states code ${code}`);
      t.equal(
        errorInfo(Number(code))?.retriable,
        retriable === 'retriable',
        `${name} section states ${retriable}`,
      );
      sections++;
    }
    t.equal(sections, rows, 'every indexed error has a section stating its code');
  },
);
