// OffsetFetch (key 9), versions 0-9, flexible 6+: v2+ takes a null topic list for "all topics" and has a top-level error, v7 adds requireStable, v8+ batches several groups per request/response, v9 adds KIP-848 member id/epoch.
import { array, bool, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const OffsetFetch = defineApi({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: '0-9',
  flexible: '6+',
  request: {
    groupId: string('0-7'),
    topics: array(
      {
        name: string('0-7'),
        partitionIndexes: array('int32', '0-7'),
      },
      '0-7',
      { nullable: '2-7' },
    ),
    groups: array(
      {
        groupId: string('8+'),
        memberId: string('9+', { nullable: '9+', default: null }),
        memberEpoch: int32('9+', { default: -1 }),
        topics: array(
          {
            name: string('8+'),
            partitionIndexes: array('int32', '8+'),
          },
          '8+',
          { nullable: '8+' },
        ),
      },
      '8+',
    ),
    requireStable: bool('7+', { default: false }),
  },
  response: {
    throttleTimeMs: int32('3+'),
    topics: array(
      {
        name: string('0-7'),
        partitions: array(
          {
            partitionIndex: int32('0-7'),
            committedOffset: int64('0-7'),
            committedLeaderEpoch: int32('5-7', { default: -1 }),
            metadata: string('0-7', { nullable: '0-7' }),
            errorCode: int16('0-7'),
          },
          '0-7',
        ),
      },
      '0-7',
    ),
    errorCode: int16('2-7', { default: 0 }),
    groups: array(
      {
        groupId: string('8+'),
        topics: array(
          {
            name: string('8+'),
            partitions: array(
              {
                partitionIndex: int32('8+'),
                committedOffset: int64('8+'),
                committedLeaderEpoch: int32('8+', { default: -1 }),
                metadata: string('8+', { nullable: '8+' }),
                errorCode: int16('8+'),
              },
              '8+',
            ),
          },
          '8+',
        ),
        errorCode: int16('8+', { default: 0 }),
      },
      '8+',
    ),
  },
});
