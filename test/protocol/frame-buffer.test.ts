// FrameBuffer: frames split across chunks in every possible way come out whole and in order.
import t from 'tap';
import { FrameBuffer } from '../../protocol/frame-buffer.js';

function frame(body: string): Buffer {
  const b = Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

t.test('frames split at every byte boundary reassemble exactly', async (t) => {
  const stream = Buffer.concat([frame('alpha'), frame(''), frame('a longer third frame')]);
  for (let cut = 1; cut < stream.length; cut++) {
    const fb = new FrameBuffer();
    const got: string[] = [];
    for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
      fb.push(chunk);
      for (;;) {
        const size = fb.peekSize();
        if (size === null) break;
        const f = fb.takeFrame(size);
        if (f === null) break;
        got.push(f.toString());
      }
    }
    t.same(got, ['alpha', '', 'a longer third frame'], `cut at ${cut}`);
    t.equal(fb.length, 0);
  }
});

t.test('a frame inside one chunk is a view, not a copy; a hostile size allocates nothing', async (t) => {
  const fb = new FrameBuffer();
  const chunk = frame('zero-copy');
  fb.push(chunk);
  const f = fb.takeFrame(fb.peekSize()!)!;
  t.equal(f.buffer, chunk.buffer, 'same memory');
  fb.push(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2]));
  t.equal(fb.peekSize(), 0x7fffffff);
  t.equal(fb.takeFrame(0x7fffffff), null, 'not arrived: nothing taken');
  t.equal(fb.length, 6);
});
