// Group-coordination and SASL definitions (keys 8-17, 36, 42, 47): for every version, random request
// and response bodies encode, decode back field for field, consume every byte, and re-encode identically.
import t from 'tap';
import { OffsetCommit } from '../../../protocol/messages/08-offset-commit.js';
import { OffsetFetch } from '../../../protocol/messages/09-offset-fetch.js';
import { FindCoordinator } from '../../../protocol/messages/10-find-coordinator.js';
import { JoinGroup } from '../../../protocol/messages/11-join-group.js';
import { Heartbeat } from '../../../protocol/messages/12-heartbeat.js';
import { LeaveGroup } from '../../../protocol/messages/13-leave-group.js';
import { SyncGroup } from '../../../protocol/messages/14-sync-group.js';
import { DescribeGroups } from '../../../protocol/messages/15-describe-groups.js';
import { ListGroups } from '../../../protocol/messages/16-list-groups.js';
import { SaslHandshake } from '../../../protocol/messages/17-sasl-handshake.js';
import { SaslAuthenticate } from '../../../protocol/messages/36-sasl-authenticate.js';
import { DeleteGroups } from '../../../protocol/messages/42-delete-groups.js';
import { OffsetDelete } from '../../../protocol/messages/47-offset-delete.js';
import { Reader } from '../../../protocol/primitives/reader.js';
import { Writer } from '../../../protocol/primitives/writer.js';
import { compileDecoder, compileEncoder } from '../../../protocol/schema/compile.js';
import {
  type ApiDefinition,
  type Fields,
  inVersions,
  parseVersions,
} from '../../../protocol/schema/schema.js';
import { diffStruct, makeRng, randomStruct } from '../support/random-values.js';

const DEFINITIONS: readonly ApiDefinition[] = [
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  SaslAuthenticate,
  DeleteGroups,
  OffsetDelete,
];

const CASES_PER_VERSION = 25;

function encode(fields: Fields, version: number, flexible: boolean, value: Record<string, unknown>): Buffer {
  const w = new Writer();
  compileEncoder(fields, version, flexible)(w, value);
  return w.toBuffer();
}

for (const def of DEFINITIONS) {
  t.test(`${def.name} (key ${def.apiKey})`, async (t) => {
    const range = parseVersions(def.versions);
    t.ok(Number.isFinite(range.max) && range.min <= range.max, 'closed, non-empty version range');
    const rng = makeRng(def.apiKey * 7919 + 3);
    for (let version = range.min; version <= range.max; version++) {
      const flexible = inVersions(def.flexible, version);
      for (const [side, fields] of [
        ['request', def.request],
        ['response', def.response],
      ] as const) {
        const decode = compileDecoder(fields, version, flexible);
        let failures = 0;
        for (let i = 0; i < CASES_PER_VERSION; i++) {
          const value = randomStruct(fields, version, rng);
          const buf = encode(fields, version, flexible, value);
          const reader = new Reader(buf);
          const decoded = decode(reader);
          if (reader.offset !== buf.length) {
            failures++;
            t.fail(`${side} v${version}: consumed ${reader.offset} of ${buf.length} bytes`);
          }
          const diff = diffStruct(fields, version, value, decoded);
          if (diff) {
            failures++;
            t.fail(`${side} v${version}: ${diff}`);
          }
          if (!encode(fields, version, flexible, decoded).equals(buf)) {
            failures++;
            t.fail(`${side} v${version}: re-encoding differs`);
          }
        }
        t.equal(failures, 0, `${side} v${version} round-trips`);
      }
    }
  });
}
