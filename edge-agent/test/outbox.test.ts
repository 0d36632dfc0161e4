import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryOutbox, openFileOutbox } from '../src/index.js';
import { messages, outboxContract } from './outbox-contract.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

outboxContract('memory', async (limits) => createMemoryOutbox(limits));
for (const fsync of ['always', 'interval', 'never'] as const) {
  outboxContract(`file (fsync ${fsync})`, async (limits) =>
    openFileOutbox({ dir: await tempDir(), fsync, ...limits }),
  );
}

describe('file outbox - durability', () => {
  it('reopen - unacknowledged messages come back in order, acknowledged ones never', async () => {
    const dir = await tempDir();
    const first = await openFileOutbox({ dir, fsync: 'never' });
    await first.append(messages(0, 100));
    const head = await first.peek(30);
    await first.ack(head.map((m) => m.seq));
    await first.close();
    const again = await openFileOutbox({ dir });
    const pending = await again.peek(1000);
    expect(pending.map((m) => m.id)).toEqual(messages(30, 100).map((m) => m.id));
    expect(pending[0]?.seq).toBe(31);
    await again.append(messages(100, 101));
    expect((await again.peek(1000)).at(-1)?.seq).toBe(101);
    await again.close();
  });

  it('torn tail - a half-written last record is cut off, the complete ones survive', async () => {
    const dir = await tempDir();
    const outbox = await openFileOutbox({ dir });
    await outbox.append(messages(0, 10));
    await outbox.close();
    const [segment] = (await readdir(dir)).filter((name) => name.startsWith('seg-'));
    await appendFile(join(dir, segment as string), '11\t1700000000000\tdeadbeef\t["st-1/wat');
    const again = await openFileOutbox({ dir });
    expect((await again.peek(100)).map((m) => m.id)).toEqual(messages(0, 10).map((m) => m.id));
    await again.append(messages(10, 12));
    await again.close();
    const third = await openFileOutbox({ dir });
    expect((await third.peek(100)).map((m) => m.id)).toEqual(messages(0, 12).map((m) => m.id));
    await third.close();
  });

  it('segments - fully acknowledged segments are deleted and the state stays right', async () => {
    const dir = await tempDir();
    const outbox = await openFileOutbox({ dir, segmentBytes: 2_000 });
    for (let i = 0; i < 10; i++) await outbox.append(messages(i * 20, i * 20 + 20));
    const segmentsBefore = (await readdir(dir)).filter((n) => n.startsWith('seg-')).length;
    expect(segmentsBefore).toBeGreaterThan(3);
    await outbox.ack((await outbox.peek(150)).map((m) => m.seq));
    const segmentsAfter = (await readdir(dir)).filter((n) => n.startsWith('seg-')).length;
    expect(segmentsAfter).toBeLessThan(segmentsBefore);
    await outbox.close();
    const again = await openFileOutbox({ dir, segmentBytes: 2_000 });
    expect((await again.peek(1000)).map((m) => m.id)).toEqual(messages(150, 200).map((m) => m.id));
    await again.close();
  });
});
