// DescribeAcls (key 29), versions 0-3, flexible 2+ (v0 deprecated). v1 adds the resource pattern type
// (default 3 = LITERAL) to the filter and to each result; v3 only admits the USER resource type.
import { array, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const DescribeAcls = defineApi({
  apiKey: 29,
  name: 'DescribeAcls',
  versions: '0-3',
  flexible: '2+',
  request: {
    resourceTypeFilter: int8(),
    resourceNameFilter: string('0+', { nullable: '0+' }),
    patternTypeFilter: int8('1+', { default: 3 }),
    principalFilter: string('0+', { nullable: '0+' }),
    hostFilter: string('0+', { nullable: '0+' }),
    operation: int8(),
    permissionType: int8(),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    errorMessage: string('0+', { nullable: '0+' }),
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      patternType: int8('1+', { default: 3 }),
      acls: array({
        principal: string(),
        host: string(),
        operation: int8(),
        permissionType: int8(),
      }),
    }),
  },
});
