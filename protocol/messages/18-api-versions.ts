// ApiVersions (key 18), versions 0-4, flexible 3+. The response header is always v0 (KIP-511).
// v3+ requests carry the client's software name/version; v3+ responses carry feature tags.
import { array, bool, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const ApiVersions = defineApi({
  apiKey: 18,
  name: 'ApiVersions',
  versions: '0-4',
  flexible: '3+',
  request: {
    clientSoftwareName: string('3+'),
    clientSoftwareVersion: string('3+'),
  },
  response: {
    errorCode: int16(),
    apiKeys: array({
      apiKey: int16(),
      minVersion: int16(),
      maxVersion: int16(),
    }),
    throttleTimeMs: int32('1+'),
    supportedFeatures: array({ name: string('3+'), minVersion: int16('3+'), maxVersion: int16('3+') }, '3+', {
      tag: 0,
      tagged: '3+',
    }),
    finalizedFeaturesEpoch: int64('3+', { tag: 1, tagged: '3+', default: -1n }),
    finalizedFeatures: array(
      { name: string('3+'), maxVersionLevel: int16('3+'), minVersionLevel: int16('3+') },
      '3+',
      {
        tag: 2,
        tagged: '3+',
      },
    ),
    zkMigrationReady: bool('3+', { tag: 3, tagged: '3+', default: false }),
  },
});
