// CreateAcls (key 30), versions 0-3, flexible 2+ (v0 deprecated). v1 adds each creation's resource
// pattern type (default 3 = LITERAL); v3 only admits the USER resource type.
import { array, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const CreateAcls = defineApi({
  apiKey: 30,
  name: 'CreateAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    creations: array({
      resourceType: int8(),
      resourceName: string(),
      resourcePatternType: int8('1+', { default: 3 }),
      principal: string(),
      host: string(),
      operation: int8(),
      permissionType: int8(),
    }),
  },
  response: {
    throttleTimeMs: int32(),
    results: array({
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
    }),
  },
});
