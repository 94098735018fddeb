// DeleteTopics (key 20), versions 0-6, flexible 4+: v0-5 name topics as a string list, v6+ as (name | topic id) entries; v5+ per-topic error messages, v6+ nullable result names.
import { array, defineApi, int16, int32, string, uuid } from '../schema/schema.js';

export const DeleteTopics = defineApi({
  apiKey: 20,
  name: 'DeleteTopics',
  versions: '0-6',
  flexible: '4+',
  request: {
    topics: array(
      {
        name: string('6+', { nullable: '6+', default: null }),
        topicId: uuid('6+'),
      },
      '6+',
    ),
    topicNames: array('string', '0-5'),
    timeoutMs: int32(),
  },
  response: {
    throttleTimeMs: int32('1+'),
    responses: array({
      name: string('0+', { nullable: '6+' }),
      topicId: uuid('6+'),
      errorCode: int16(),
      errorMessage: string('5+', { nullable: '5+', default: null }),
    }),
  },
});
