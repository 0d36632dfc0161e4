import { z } from 'zod';
import { CONTRACTS, type ContractName } from './contracts/index.js';

/**
 * JSON Schema (draft 2020-12) of every contract, for the Python trainer and other languages.
 * Input shapes are emitted: what a producer must send, before defaults are applied.
 */
export function contractJsonSchemas(): Record<ContractName, unknown> {
  const out = {} as Record<ContractName, unknown>;
  for (const [name, schema] of Object.entries(CONTRACTS) as [ContractName, z.ZodType][]) {
    out[name] = {
      $id: `urn:reefguard:schema:${name}`,
      ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    };
  }
  return out;
}
