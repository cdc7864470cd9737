import { KEYS, type KeySpec } from './keys.js';

function fragment(k: KeySpec): Record<string, unknown> {
  switch (k.kind) {
    case 'enum': return { type: 'string', enum: k.values };
    case 'list': return { type: 'string', pattern: k.pattern };
    case 'bool': return { type: 'boolean' };
    case 'int':
    case 'number':
      return { type: k.kind === 'int' ? 'integer' : 'number', minimum: k.min, ...(k.max === undefined ? {} : { maximum: k.max }) };
  }
}

/** The one JSON schema of a merged, typed policy (keys without the `io.vkernel.` prefix). */
export const POLICY_SCHEMA = {
  $id: 'https://vkernel-runtime/policy.json',
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(KEYS.map((k) => [k.key, fragment(k)])),
};
