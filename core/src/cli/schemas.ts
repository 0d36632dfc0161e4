import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { contractJsonSchemas } from '../json-schema.js';
import { workspaceRoot } from './workspace.js';

/** `reefguard schemas [--out DIR]`: one `<contract>.schema.json` per message contract. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string', default: join(workspaceRoot(), 'core', 'schemas') } },
  });
  const out = values.out as string;
  await mkdir(out, { recursive: true });
  for (const [name, schema] of Object.entries(contractJsonSchemas())) {
    await writeFile(join(out, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`);
  }
  console.log(`wrote ${Object.keys(contractJsonSchemas()).length} schemas to ${out}`);
  return 0;
}
