import { describe, expect, it } from 'vitest';
import type { FullPolicy, Outbox, OutboxMessage } from '../src/index.js';

export type OpenOutbox = (limits: { maxMessages?: number; policy?: FullPolicy }) => Promise<Outbox>;

export function message(n: number): OutboxMessage {
  return {
    id: `st-1/water_temperature/${n}`,
    kind: 'reading',
    siteId: '18-054',
    stationId: 'st-1',
    body: JSON.stringify({ n, value: 27 + n / 1000 }),
  };
}

export const messages = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => message(from + i));

/** The behaviour every Outbox implementation must show; run once per implementation. */
export function outboxContract(name: string, openOutbox: OpenOutbox) {
  describe(`${name} - Outbox contract`, () => {
    it('peek - returns the oldest messages in append order, the same until acked', async () => {
      const outbox = await openOutbox({});
      try {
        expect(await outbox.append(messages(0, 10))).toEqual({ accepted: 10, dropped: 0 });
        const first = await outbox.peek(4);
        expect(first.map((m) => m.id)).toEqual(messages(0, 4).map((m) => m.id));
        expect((await outbox.peek(4)).map((m) => m.seq)).toEqual(first.map((m) => m.seq));
        expect(first[0]?.body).toBe(message(0).body);
        await outbox.ack(first.map((m) => m.seq));
        expect((await outbox.peek(100)).map((m) => m.id)).toEqual(messages(4, 10).map((m) => m.id));
        expect(outbox.stats().depth).toBe(6);
      } finally {
        await outbox.close();
      }
    });

    it('ack - is idempotent and accepts acks out of order', async () => {
      const outbox = await openOutbox({});
      try {
        await outbox.append(messages(0, 5));
        const all = await outbox.peek(5);
        const seqs = all.map((m) => m.seq);
        await outbox.ack([seqs[3] as number, seqs[1] as number]);
        await outbox.ack([seqs[3] as number, 999_999]);
        expect((await outbox.peek(5)).map((m) => m.id)).toEqual(
          [0, 2, 4].map((n) => message(n).id),
        );
        await outbox.ack(seqs);
        expect(outbox.stats()).toMatchObject({ depth: 0, bytes: 0, oldestEnqueuedAtMs: null });
      } finally {
        await outbox.close();
      }
    });

    it('full, drop-oldest - evicts the oldest, keeps the newest, counts the drop', async () => {
      const outbox = await openOutbox({ maxMessages: 5, policy: 'drop-oldest' });
      try {
        await outbox.append(messages(0, 4));
        expect(await outbox.append(messages(4, 7))).toEqual({ accepted: 3, dropped: 2 });
        expect((await outbox.peek(10)).map((m) => m.id)).toEqual(messages(2, 7).map((m) => m.id));
        expect(await outbox.append(messages(7, 20))).toEqual({ accepted: 5, dropped: 13 });
        expect((await outbox.peek(10)).map((m) => m.id)).toEqual(messages(15, 20).map((m) => m.id));
        expect(outbox.stats()).toMatchObject({ depth: 5, droppedTotal: 15 });
      } finally {
        await outbox.close();
      }
    });

    it('full, reject-new - keeps what is stored and refuses the overflow, counting it', async () => {
      const outbox = await openOutbox({ maxMessages: 5, policy: 'reject-new' });
      try {
        await outbox.append(messages(0, 4));
        expect(await outbox.append(messages(4, 7))).toEqual({ accepted: 1, dropped: 2 });
        expect((await outbox.peek(10)).map((m) => m.id)).toEqual(messages(0, 5).map((m) => m.id));
        expect(outbox.stats()).toMatchObject({ depth: 5, droppedTotal: 2 });
      } finally {
        await outbox.close();
      }
    });

    it('stats - depth, bytes and the oldest enqueue time follow appends and acks', async () => {
      const outbox = await openOutbox({});
      try {
        const before = Date.now();
        await outbox.append(messages(0, 3));
        const stats = outbox.stats();
        expect(stats.depth).toBe(3);
        expect(stats.bytes).toBeGreaterThan(0);
        expect(stats.oldestEnqueuedAtMs).toBeGreaterThanOrEqual(before);
      } finally {
        await outbox.close();
      }
    });
  });
}
