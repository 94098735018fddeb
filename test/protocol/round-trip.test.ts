// Every (API, version), both directions: random valid bodies encode, decode back field for field,
// consume every byte, and re-encode to the same bytes.
import t from 'tap';
import {
  allApiCodecs,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../protocol/codec.js';
import { diffStruct, makeRng, randomStruct } from './support/random-values.js';

const CASES_PER_VERSION = 25;

for (const codec of allApiCodecs()) {
  t.test(`${codec.def.name} (key ${codec.def.apiKey})`, async (t) => {
    const rng = makeRng(codec.def.apiKey * 7919 + 1);
    for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
      for (let i = 0; i < CASES_PER_VERSION; i++) {
        const header = {
          apiKey: codec.def.apiKey,
          apiVersion: version,
          correlationId: i,
          clientId: i % 3 === 0 ? null : 'client',
        };
        const req = randomStruct(codec.def.request, version, rng);
        const reqFrame = Buffer.concat(encodeRequest(header, req));
        t.equal(reqFrame.readInt32BE(0), reqFrame.length - 4, 'size prefix');
        const decoded = decodeRequest(reqFrame.subarray(4));
        t.same(decoded.header, header, 'request header');
        const reqDiff = diffStruct(codec.def.request, version, req, decoded.body);
        if (reqDiff) t.fail(`request v${version}: ${reqDiff}`);
        t.ok(
          Buffer.concat(encodeRequest(header, decoded.body)).equals(reqFrame),
          `request v${version} re-encodes identically`,
        );

        const res = randomStruct(codec.def.response, version, rng);
        const resFrame = Buffer.concat(encodeResponse(header, res));
        const decodedRes = decodeResponse(codec.def.apiKey, version, resFrame.subarray(4));
        t.equal(decodedRes.correlationId, i);
        const resDiff = diffStruct(codec.def.response, version, res, decodedRes.body);
        if (resDiff) t.fail(`response v${version}: ${resDiff}`);
        t.ok(
          Buffer.concat(encodeResponse(header, decodedRes.body)).equals(resFrame),
          `response v${version} re-encodes identically`,
        );
      }
    }
  });
}
