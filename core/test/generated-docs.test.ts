import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractJsonSchemas, renderTopicTable } from '../src/index.js';

const root = join(import.meta.dirname, '..', '..');

/** Table cells, ignoring column padding and the separator row (a formatter may realign). */
const cells = (table: string) =>
  table
    .trim()
    .split('\n')
    .filter((line) => !/^\|[\s|:-]+\|$/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()));

describe('generated files - stay in step with the code', () => {
  it('README topic table equals the table in core/src/topics.ts', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const start = readme.indexOf('<!-- topic-table:start');
    const end = readme.indexOf('<!-- topic-table:end -->');
    expect(start).toBeGreaterThan(0);
    const body = readme.slice(readme.indexOf('\n', start) + 1, end).trim();
    expect(cells(body)).toEqual(cells(renderTopicTable()));
  });

  it('core/schemas holds the current JSON Schema of every contract (run ./reefguard schemas)', async () => {
    const dir = join(root, 'core', 'schemas');
    const files = (await readdir(dir)).sort();
    const schemas = contractJsonSchemas();
    expect(files).toEqual(
      Object.keys(schemas)
        .map((name) => `${name}.schema.json`)
        .sort(),
    );
    for (const [name, schema] of Object.entries(schemas)) {
      const committed = JSON.parse(await readFile(join(dir, `${name}.schema.json`), 'utf8'));
      expect(committed, name).toEqual(schema);
    }
  });
});
