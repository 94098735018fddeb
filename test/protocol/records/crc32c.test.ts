import t from 'tap';
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative } from '../../../protocol/records/crc32c.js';
import { makeRng, randomBytes, randomInt } from './helpers.js';

// Check values: the classic "123456789", and the iSCSI vectors of RFC 3720 §B.4.
const VECTORS: [string, Buffer, number][] = [
  ['empty', Buffer.alloc(0), 0],
  ['123456789', Buffer.from('123456789'), 0xe3069283],
  ['32 zero bytes', Buffer.alloc(32, 0), 0x8a9136aa],
  ['32 0xff bytes', Buffer.alloc(32, 0xff), 0x62a8ab43],
  ['32 ascending bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
  ['32 descending bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
];

t.test('known vectors, every implementation', async (t) => {
  const impls: [string, (b: Uint8Array, i?: number) => number][] = [
    ['crc32c', crc32c],
    ['js', crc32cJs],
  ];
  if (crc32cNative) impls.push(['native', crc32cNative]);
  for (const [name, fn] of impls) {
    for (const [label, input, expected] of VECTORS) {
      t.equal(fn(input), expected, `${name}: ${label}`);
    }
  }
});

t.test('the native implementation is active here', async (t) => {
  t.equal(crc32cImplementation, crc32cNative ? 'native' : 'js');
  t.equal(crc32cImplementation, 'native', '@node-rs/crc32 is installed, so it should load');
});

t.test('continuation: crc(b, crc(a)) === crc(a ‖ b)', async (t) => {
  const rng = makeRng(7);
  for (let i = 0; i < 200; i++) {
    const whole = randomBytes(rng, randomInt(rng, 300));
    const cut = randomInt(rng, whole.length + 1);
    const a = whole.subarray(0, cut);
    const b = whole.subarray(cut);
    t.equal(crc32cJs(b, crc32cJs(a)), crc32cJs(whole));
    t.equal(crc32c(b, crc32c(a)), crc32c(whole));
  }
});

const nativeSkip = crc32cNative ? false : 'native module not available';
t.test(
  'native and JS agree on random buffers of random lengths and alignments',
  { skip: nativeSkip },
  async (t) => {
    const native = crc32cNative!;
    const rng = makeRng(42);
    const backing = randomBytes(rng, 80_000);
    let mismatches = 0;
    for (let i = 0; i < 2000; i++) {
      const length = i < 100 ? i : randomInt(rng, i % 10 === 0 ? 70_000 : 600);
      const start = randomInt(rng, backing.length - length);
      const view = new Uint8Array(backing.buffer, backing.byteOffset + start, length); // odd offsets too
      const initial = i % 3 === 0 ? 0 : (rng() * 2 ** 32) >>> 0;
      if (native(view, initial) !== crc32cJs(view, initial)) mismatches++;
    }
    t.equal(mismatches, 0);
  },
);

t.test('results are unsigned 32-bit integers', async (t) => {
  const rng = makeRng(3);
  for (let i = 0; i < 100; i++) {
    const v = crc32c(randomBytes(rng, 17));
    t.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});
