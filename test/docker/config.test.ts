/**
 * docker/streamhouse.properties (the config users copy for docker-compose.yml) loads with the
 * broker's own config loader without errors, and says what the compose stack expects: listen on all
 * interfaces, data.dir on the volume, PostgreSQL metadata, S3 (MinIO) objects. No Docker engine is
 * needed: this checks the file, not the containers.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../src/config/load-config.js';
import { parseS3Url } from '../../src/tiering/s3-object-store.js';

// Compiled to dist/test/docker/: the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const file = join(root, 'docker', 'streamhouse.properties');

t.test('docker/streamhouse.properties loads', async (t) => {
  const { config, configFile } = loadConfig({ configFile: file, env: {}, flags: [] });
  t.equal(configFile, file);
  t.same(config.listen, { host: '0.0.0.0', port: 9092 });
  t.same(config.advertised, { host: 'localhost', port: 9092 });
  t.equal(config.dataDir, '/var/lib/streamhouse');
  t.match(config.metadataUrl, /^postgres:\/\/streamhouse@postgres:5432\/streamhouse\?schema=/);
  t.ok(config.objectStoreUrl?.startsWith('s3://streamhouse/'));
  // The S3 URL's parameters are checked when the store opens; check them now.
  const s3 = parseS3Url(config.objectStoreUrl!, {});
  t.equal(s3.bucket, 'streamhouse');
  t.equal(s3.prefix, 'cluster-1');
  t.equal(s3.endpoint, 'http://minio:9000');
  t.equal(s3.forcePathStyle, true);
  t.equal(s3.credentials, undefined, 'credentials come from the environment, not the file');
});
