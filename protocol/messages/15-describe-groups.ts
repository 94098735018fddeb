// DescribeGroups (key 15), versions 0-5, flexible 5+: v3+ can ask for authorized operations (INT32_MIN = not requested), v4+ lists members' group instance ids.
import { array, bool, bytes, defineApi, int16, int32, string } from '../schema/schema.js';

export const DescribeGroups = defineApi({
  apiKey: 15,
  name: 'DescribeGroups',
  versions: '0-5',
  flexible: '5+',
  request: {
    groups: array('string'),
    includeAuthorizedOperations: bool('3+'),
  },
  response: {
    throttleTimeMs: int32('1+'),
    groups: array({
      errorCode: int16(),
      groupId: string(),
      groupState: string(),
      protocolType: string(),
      protocolData: string(),
      members: array({
        memberId: string(),
        groupInstanceId: string('4+', { nullable: '4+', default: null }),
        clientId: string(),
        clientHost: string(),
        memberMetadata: bytes(),
        memberAssignment: bytes(),
      }),
      authorizedOperations: int32('3+', { default: -2147483648 }),
    }),
  },
});
