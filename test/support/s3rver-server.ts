/**
 * A real S3-compatible server for tests: s3rver on loopback, files in a fresh temp dir, with one
 * bucket already made. startS3rver() returns its port and endpoint and a stop() that frees it all.
 *
 * Importing this module patches two s3rver limitations that real S3 does not have (test only):
 * 1. It keeps an object as files named `<last key segment>._S3rver_<kind>`, so a 255-character
 *    segment (valid in our key rules, and in S3) exceeds the file-name limit and crashes it: long
 *    segments are stored under hashed file names.
 * 2. It writes an object in place and answers before the write is done, so concurrent PUTs to one
 *    key interleave and a GET right after a PUT can see a prefix: objects are written to a temp
 *    file and renamed, as S3's atomic PUT behaves.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import S3rver from 's3rver';

/** Static credentials s3rver accepts, as s3:// URL query parameters. */
export const S3RVER_CREDS = 'access_key_id=S3RVER&secret_access_key=S3RVER';

{
  const require = createRequire(import.meta.url);
  interface S3rverObject {
    bucket: string;
    key: string;
    metadata: unknown;
    content: Buffer | AsyncIterable<Buffer>;
  }
  interface FilesystemStoreShape {
    prototype: {
      getResourcePath(bucket: string, key: string, kind: string): string;
      putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
      putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    };
    encodeKeyPath(key: string): string;
    decodeKeyPath(path: string): string;
  }
  const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as FilesystemStoreShape;
  let tempSeq = 0;
  FilesystemStore.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    let content: Buffer;
    if (Buffer.isBuffer(object.content)) content = object.content;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of object.content) chunks.push(chunk);
      content = Buffer.concat(chunks);
    }
    const md5 = createHash('md5').update(content).digest('hex');
    const temp = `${objectPath}.tmp-${process.pid}-${tempSeq++}`;
    await writeFile(temp, content);
    await rename(temp, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
  const longSegments = new Map<string, string>();
  const encode = FilesystemStore.encodeKeyPath.bind(FilesystemStore);
  const decode = FilesystemStore.decodeKeyPath.bind(FilesystemStore);
  FilesystemStore.encodeKeyPath = (key) =>
    encode(
      key
        .split('/')
        .map((seg) => {
          if (seg.length <= 200) return seg;
          const hashed = `~long~${createHash('sha256').update(seg).digest('hex')}`;
          longSegments.set(hashed, seg);
          return hashed;
        })
        .join('/'),
    );
  FilesystemStore.decodeKeyPath = (path) =>
    decode(path)
      .split('/')
      .map((seg) => longSegments.get(seg) ?? seg)
      .join('/');
}

export interface RunningS3rver {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

export async function startS3rver(bucket: string): Promise<RunningS3rver> {
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const address = await server.run();
  return {
    port: address.port,
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    async stop() {
      server.httpServer.closeAllConnections();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
