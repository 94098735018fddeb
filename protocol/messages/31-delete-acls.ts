// DeleteAcls (key 31), versions 0-3, flexible 2+ (v0 deprecated). v1 adds the pattern type (default
// 3 = LITERAL) to each filter and each matching ACL; v3 only admits the USER resource type.
import { array, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const DeleteAcls = defineApi({
  apiKey: 31,
  name: 'DeleteAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    filters: array({
      resourceTypeFilter: int8(),
      resourceNameFilter: string('0+', { nullable: '0+' }),
      patternTypeFilter: int8('1+', { default: 3 }),
      principalFilter: string('0+', { nullable: '0+' }),
      hostFilter: string('0+', { nullable: '0+' }),
      operation: int8(),
      permissionType: int8(),
    }),
  },
  response: {
    throttleTimeMs: int32(),
    filterResults: array({
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
      matchingAcls: array({
        errorCode: int16(),
        errorMessage: string('0+', { nullable: '0+' }),
        resourceType: int8(),
        resourceName: string(),
        patternType: int8('1+', { default: 3 }),
        principal: string(),
        host: string(),
        operation: int8(),
        permissionType: int8(),
      }),
    }),
  },
});
