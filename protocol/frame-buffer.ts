/**
 * Reassembles Kafka frames from a byte stream that arrives in arbitrary chunks.
 *
 *   stream := { size INT32, frame[size] }*
 *
 * Chunks are queued as they arrive; `peekSize()` reads the next size prefix (even across chunks) and
 * `take(n)` removes n bytes from the front — a zero-copy view when they sit in one chunk, one copy
 * otherwise. Nothing is allocated for a frame until all of its bytes are here, so a hostile size
 * prefix costs nothing: the caller checks `peekSize()` against its limit first.
 * Used by the broker's connections and by the load generator (the client side).
 */
export class FrameBuffer {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  /** Bytes queued and not yet taken. */
  get length(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The next INT32 size prefix, or null when fewer than 4 bytes are queued. */
  peekSize(): number | null {
    if (this.bytes < 4) return null;
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, 4).readInt32BE(0);
  }

  /** The next whole frame (size prefix removed), or null if it has not fully arrived. */
  takeFrame(size: number): Buffer | null {
    if (this.bytes < 4 + size) return null;
    return this.take(4 + size).subarray(4);
  }

  /** Remove `n` bytes (n ≤ length) from the front of the queue. */
  take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const want = n - filled;
        if (c.length <= want) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, want);
          this.chunks[0] = c.subarray(want);
          filled += want;
        }
      }
    }
    this.bytes -= n;
    return out;
  }

  clear(): void {
    this.chunks.length = 0;
    this.bytes = 0;
  }
}
