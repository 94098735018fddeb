// LeaveGroup (key 13), versions 0-5, flexible 4+: v0-2 remove one member id; v3+ remove a batch of members (with instance ids) and answer per member; v5 adds a per-member reason.
import { array, defineApi, int16, int32, string } from '../schema/schema.js';

export const LeaveGroup = defineApi({
  apiKey: 13,
  name: 'LeaveGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: string(),
    memberId: string('0-2'),
    members: array(
      {
        memberId: string('3+'),
        groupInstanceId: string('3+', { nullable: '3+', default: null }),
        reason: string('5+', { nullable: '5+', default: null }),
      },
      '3+',
    ),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16(),
    members: array(
      {
        memberId: string('3+'),
        groupInstanceId: string('3+', { nullable: '3+' }),
        errorCode: int16('3+'),
      },
      '3+',
    ),
  },
});
