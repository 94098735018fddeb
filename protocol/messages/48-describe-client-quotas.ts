// DescribeClientQuotas (key 48), versions 0-1, flexible 1+. Quota values are FLOAT64 (IEEE doubles);
// a null entries array accompanies a top-level error. v1 only switches to the flexible encoding.
import { array, bool, defineApi, float64, int8, int16, int32, string } from '../schema/schema.js';

export const DescribeClientQuotas = defineApi({
  apiKey: 48,
  name: 'DescribeClientQuotas',
  versions: '0-1',
  flexible: '1+',
  request: {
    components: array({
      entityType: string(),
      matchType: int8(),
      match: string('0+', { nullable: '0+' }),
    }),
    strict: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    errorMessage: string('0+', { nullable: '0+' }),
    entries: array(
      {
        entity: array({
          entityType: string(),
          entityName: string('0+', { nullable: '0+' }),
        }),
        values: array({
          key: string(),
          value: float64(),
        }),
      },
      '0+',
      { nullable: '0+' },
    ),
  },
});
