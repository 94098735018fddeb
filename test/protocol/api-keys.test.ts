import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ALL_API_KEYS, ApiKey, type ApiKeyName, apiKeyName } from '../../protocol/api-keys.js';

t.test('no duplicate keys or names; keys are contiguous from 0', async (t) => {
  const names = Object.keys(ApiKey);
  const keys = Object.values(ApiKey);
  t.equal(new Set(names).size, names.length, 'names are unique');
  t.equal(new Set(keys).size, keys.length, 'keys are unique');
  t.same(
    ALL_API_KEYS,
    keys.map((_, i) => i),
    'keys are 0..N in order',
  );
  for (const key of ALL_API_KEYS) {
    const name = apiKeyName(key);
    if (name === undefined || ApiKey[name] !== key) t.fail(`apiKeyName(${key}) does not round-trip`);
  }
});

t.test('known values', async (t) => {
  const expected: [number, ApiKeyName][] = [
    [0, 'Produce'],
    [1, 'Fetch'],
    [2, 'ListOffsets'],
    [3, 'Metadata'],
    [8, 'OffsetCommit'],
    [9, 'OffsetFetch'],
    [10, 'FindCoordinator'],
    [11, 'JoinGroup'],
    [18, 'ApiVersions'],
    [22, 'InitProducerId'],
    [36, 'SaslAuthenticate'],
    [60, 'DescribeCluster'],
    [68, 'ConsumerGroupHeartbeat'],
    [74, 'ListConfigResources'],
    [75, 'DescribeTopicPartitions'],
    [92, 'DeleteShareGroupOffsets'],
  ];
  for (const [key, name] of expected) {
    t.equal(ApiKey[name], key, `ApiKey.${name}`);
    t.equal(apiKeyName(key), name, `apiKeyName(${key})`);
  }
  t.equal(ApiKey.Produce, 0);
  t.equal(ApiKey.DescribeTopicPartitions, 75);
});

t.test('unknown keys', async (t) => {
  for (const key of [-1, 93, 1000, 0.5, Number.NaN])
    t.equal(apiKeyName(key), undefined, `apiKeyName(${key})`);
});

/**
 * The Kafka JSON message specs shared next to the repo (3.9 snapshot). Looked for at
 * $KAFKA_MESSAGES_DIR, then ../shared/kafka-protocol/messages from the working directory and from the repo
 * root (found from this file, which runs as dist/test/protocol/api-keys.test.js).
 */
function findMessagesDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.KAFKA_MESSAGES_DIR,
    resolve(process.cwd(), '../shared/kafka-protocol/messages'),
    resolve(here, '../../../../shared/kafka-protocol/messages'),
    resolve(here, '../../../shared/kafka-protocol/messages'),
  ];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(dir));
}

/** Removes `//` line comments that are outside JSON strings. */
function stripLineComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') {
        inString = false;
      }
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += ch;
    }
  }
  return out;
}

/** Keys renamed in Kafka 4.x since the 3.9 specs: key -> name in the 3.9 JSON. */
const RENAMED_SINCE_3_9: ReadonlyMap<number, string> = new Map([[74, 'ListClientMetricsResources']]);

const messagesDir = findMessagesDir();
if (messagesDir === undefined) {
  t.skip('names match the Kafka JSON request specs (shared specs not found)', async () => {});
} else {
  t.test('names match the Kafka JSON request specs', async (t) => {
    const dir = messagesDir;
    const files = readdirSync(dir).filter((f) => f.endsWith('Request.json'));
    t.ok(files.length > 0, `request specs in ${dir}`);
    const seen = new Set<number>();
    for (const file of files) {
      const spec = JSON.parse(stripLineComments(readFileSync(join(dir, file), 'utf8'))) as {
        apiKey?: unknown;
        name?: unknown;
        type?: unknown;
      };
      if (spec.type !== 'request' || typeof spec.apiKey !== 'number' || typeof spec.name !== 'string')
        continue;
      const specName = spec.name.replace(/Request$/, '');
      const expected = RENAMED_SINCE_3_9.get(spec.apiKey) ?? apiKeyName(spec.apiKey);
      t.equal(specName, expected, `${file}: key ${spec.apiKey}`);
      t.equal(`${specName}Request.json`, file, `${file}: file name matches spec name`);
      seen.add(spec.apiKey);
    }
    // Every key the specs define is in the table; keys above the specs' highest are newer than the snapshot.
    const highest = Math.max(...seen);
    const missing = ALL_API_KEYS.filter((k) => k <= highest && !seen.has(k));
    t.same(missing, [], 'every table key up to the highest spec key has a spec');
  });
}
