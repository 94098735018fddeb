// AlterConfigs (key 33), versions 0-2, flexible 2+. Replaces a resource's whole set of dynamic
// configs (superseded by IncrementalAlterConfigs); v1 is identical to v0.
import { array, bool, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const AlterConfigs = defineApi({
  apiKey: 33,
  name: 'AlterConfigs',
  versions: '0-2',
  flexible: '2+',
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
        value: string('0+', { nullable: '0+' }),
      }),
    }),
    validateOnly: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    responses: array({
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
      resourceType: int8(),
      resourceName: string(),
    }),
  },
});
