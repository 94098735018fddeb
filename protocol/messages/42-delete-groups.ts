// DeleteGroups (key 42), versions 0-2, flexible 2+: the request field is spelled GroupsNames; the response has a throttle time from v0.
import { array, defineApi, int16, int32, string } from '../schema/schema.js';

export const DeleteGroups = defineApi({
  apiKey: 42,
  name: 'DeleteGroups',
  versions: '0-2',
  flexible: '2+',
  request: {
    groupsNames: array('string'),
  },
  response: {
    throttleTimeMs: int32(),
    results: array({
      groupId: string(),
      errorCode: int16(),
    }),
  },
});
