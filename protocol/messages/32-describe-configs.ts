// DescribeConfigs (key 32), versions 0-4, flexible 4+ (v0 deprecated). v0 alone has isDefault; v1 adds
// includeSynonyms, configSource and synonyms; v3 adds includeDocumentation, configType, documentation.
import { array, bool, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const DescribeConfigs = defineApi({
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: '0-4',
  flexible: '4+',
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configurationKeys: array('string', '0+', { nullable: '0+' }),
    }),
    includeSynonyms: bool('1+', { default: false }),
    includeDocumentation: bool('3+', { default: false }),
  },
  response: {
    throttleTimeMs: int32(),
    results: array({
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
        value: string('0+', { nullable: '0+' }),
        readOnly: bool(),
        isDefault: bool('0'),
        configSource: int8('1+', { default: -1 }),
        isSensitive: bool(),
        synonyms: array(
          {
            name: string('1+'),
            value: string('1+', { nullable: '0+' }),
            source: int8('1+'),
          },
          '1+',
        ),
        configType: int8('3+', { default: 0 }),
        documentation: string('3+', { nullable: '0+' }),
      }),
    }),
  },
});
