// AlterClientQuotas (key 49), versions 0-1, flexible 1+. Each op sets a FLOAT64 quota value or removes
// the key; a null entity name means the default entity. v1 only switches to the flexible encoding.
import { array, bool, defineApi, float64, int16, int32, string } from '../schema/schema.js';

const EntityData = {
  entityType: string(),
  entityName: string('0+', { nullable: '0+' }),
};

export const AlterClientQuotas = defineApi({
  apiKey: 49,
  name: 'AlterClientQuotas',
  versions: '0-1',
  flexible: '1+',
  request: {
    entries: array({
      entity: array(EntityData),
      ops: array({
        key: string(),
        value: float64(),
        remove: bool(),
      }),
    }),
    validateOnly: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    entries: array({
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
      entity: array(EntityData),
    }),
  },
});
