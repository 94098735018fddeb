// IncrementalAlterConfigs (key 44), versions 0-1, flexible 1+. Each config entry carries an operation
// (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT); v1 only switches to the flexible encoding.
import { array, bool, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const IncrementalAlterConfigs = defineApi({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versions: '0-1',
  flexible: '1+',
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
        configOperation: int8(),
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
