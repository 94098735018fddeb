// ListGroups (key 16), versions 0-5, flexible 3+: v4+ filters by and reports group state, v5+ by and reports group type (classic/consumer/share).
import { array, defineApi, int16, int32, string } from '../schema/schema.js';

export const ListGroups = defineApi({
  apiKey: 16,
  name: 'ListGroups',
  versions: '0-5',
  flexible: '3+',
  request: {
    statesFilter: array('string', '4+'),
    typesFilter: array('string', '5+'),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16(),
    groups: array({
      groupId: string(),
      protocolType: string(),
      groupState: string('4+'),
      groupType: string('5+'),
    }),
  },
});
