import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { InputFormatError } from '@reefguard/core';
import {
  DEFAULT_OUTBOX_MAX_BYTES,
  DEFAULT_OUTBOX_MAX_MESSAGES,
  type FullPolicy,
  messageBytes,
  type Outbox,
  type OutboxMessage,
  planAppend,
  type StoredMessage,
} from './outbox.js';

/**
 * When appended data reaches the disk itself, not just the kernel: `always` fsyncs every
 * append and ack before it resolves (survives power loss, slowest); `interval` fsyncs at most
 * every `fsyncIntervalMs` (power loss may lose that window, kill -9 loses nothing); `never`
 * leaves it to the OS. Every mode survives kill -9: writes are in the kernel when they resolve.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';
export const FSYNC_POLICIES = ['always', 'interval', 'never'] as const;

export interface FileOutboxOptions {
  dir: string;
  maxMessages?: number;
  maxBytes?: number;
  policy?: FullPolicy;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** A new segment file starts past this size; fully acknowledged segments are deleted. */
  segmentBytes?: number;
  now?: () => number;
}

export const DEFAULT_FSYNC_INTERVAL_MS = 1_000;
export const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

const ACK_LOG = 'acks.log';
const SEGMENT = /^seg-(\d{16})\.log$/;

interface Segment {
  firstSeq: number;
  path: string;
}

/** Where a pending record lies: its segment, byte offset and length (newline excluded). */
interface PendingEntry {
  seq: number;
  enqueuedAtMs: number;
  /** `messageBytes` of the message, what the limits count. */
  size: number;
  segment: Segment;
  offset: number;
  length: number;
}

/**
 * An append-only segment log on local disk. Each record is one line
 * `seq \t enqueuedAtMs \t crc32 \t json`; acknowledgements go to `acks.log` as seq ranges.
 * On open, records whose checksum fails (a torn write at power loss) end the segment and are
 * cut off; everything complete and unacknowledged is pending again, oldest first.
 * Only an index of the pending messages is held in memory (about 100 bytes each); `peek`
 * reads the records back from the segment files, which the page cache usually still holds.
 */
export async function openFileOutbox(options: FileOutboxOptions): Promise<Outbox> {
  const limits = {
    maxMessages: options.maxMessages ?? DEFAULT_OUTBOX_MAX_MESSAGES,
    maxBytes: options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES,
    policy: options.policy ?? 'drop-oldest',
  };
  const fsyncPolicy = options.fsync ?? 'interval';
  const fsyncIntervalMs = options.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const now = options.now ?? Date.now;
  const { dir } = options;
  await mkdir(dir, { recursive: true });

  const recovered = await recover(dir);
  const pending = recovered.pending;
  const segments = recovered.segments;
  let nextSeq = recovered.nextSeq;
  let bytes = 0;
  for (const entry of pending.values()) bytes += entry.size;
  const readers = new Map<Segment, FileHandle>();
  let droppedTotal = 0;

  let active = segments.at(-1);
  if (!active) {
    active = { firstSeq: nextSeq, path: segmentPath(dir, nextSeq) };
    segments.push(active);
  }
  let segmentHandle = await open(active.path, 'a');
  let segmentSize = (await segmentHandle.stat()).size;
  let ackHandle = await open(join(dir, ACK_LOG), 'a');
  let dirty = false;
  let closed = false;

  // One operation at a time: appends, acks and segment rotation never interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const result = chain.then(task);
    chain = result.catch(() => undefined);
    return result;
  };

  const timer =
    fsyncPolicy === 'interval'
      ? setInterval(() => {
          if (dirty) void serial(syncAll);
        }, fsyncIntervalMs)
      : undefined;
  timer?.unref();

  async function syncAll() {
    dirty = false;
    await Promise.all([segmentHandle.sync(), ackHandle.sync()]);
  }

  async function written() {
    if (fsyncPolicy === 'always') await syncAll();
    else dirty = true;
  }

  async function writeAcks(seqs: readonly number[]) {
    if (seqs.length === 0) return;
    await ackHandle.write(encodeRanges(seqs));
  }

  async function rotateIfNeeded() {
    if (segmentSize < segmentBytes) return;
    await segmentHandle.sync();
    await segmentHandle.close();
    active = { firstSeq: nextSeq, path: segmentPath(dir, nextSeq) };
    segments.push(active);
    segmentHandle = await open(active.path, 'a');
    segmentSize = 0;
  }

  /** Deletes segments whose every record is acknowledged, then rewrites the ack log short. */
  async function compact() {
    const lowestPending = pending.keys().next().value ?? nextSeq;
    let removed = false;
    while (segments.length > 1) {
      const second = segments[1] as Segment;
      if (second.firstSeq > lowestPending) break;
      const first = segments.shift() as Segment;
      await readers.get(first)?.close();
      readers.delete(first);
      await rm(first.path, { force: true });
      removed = true;
    }
    if (!removed) return;
    const from = (segments[0] as Segment).firstSeq;
    const acked: number[] = [];
    let seq = from;
    for (const key of pending.keys()) {
      for (; seq < key; seq++) acked.push(seq);
      seq = key + 1;
    }
    for (; seq < nextSeq; seq++) acked.push(seq);
    const tmp = join(dir, `${ACK_LOG}.tmp`);
    const handle = await open(tmp, 'w');
    await handle.write(encodeRanges(acked));
    await handle.sync();
    await handle.close();
    await ackHandle.close();
    await rename(tmp, join(dir, ACK_LOG));
    ackHandle = await open(join(dir, ACK_LOG), 'a');
  }

  async function reader(segment: Segment): Promise<FileHandle> {
    let handle = readers.get(segment);
    if (!handle) {
      handle = await open(segment.path, 'r');
      readers.set(segment, handle);
    }
    return handle;
  }

  function removeOldest(count: number): number[] {
    const seqs: number[] = [];
    for (const [seq, entry] of pending) {
      if (seqs.length >= count) break;
      seqs.push(seq);
      bytes -= entry.size;
    }
    for (const seq of seqs) pending.delete(seq);
    return seqs;
  }

  const assertOpen = () => {
    if (closed) throw new InputFormatError(`outbox ${dir} is closed`);
  };

  return {
    append(messages) {
      return serial(async () => {
        assertOpen();
        const plan = planAppend({ depth: pending.size, bytes }, messages, limits, function* () {
          for (const entry of pending.values()) yield entry.size;
        });
        const evicted = removeOldest(plan.evict);
        await writeAcks(evicted);
        droppedTotal += plan.evict + plan.refuse;
        const keep =
          plan.refuse > 0
            ? limits.policy === 'reject-new'
              ? messages.slice(0, messages.length - plan.refuse)
              : messages.slice(plan.refuse)
            : messages;
        if (keep.length > 0) {
          await rotateIfNeeded();
          const enqueuedAtMs = now();
          const lines: string[] = [];
          const segment = active as Segment;
          let offset = segmentSize;
          for (const message of keep) {
            const seq = nextSeq++;
            const line = encodeRecord({ ...message, seq, enqueuedAtMs });
            const length = Buffer.byteLength(line) - 1;
            const size = messageBytes(message);
            pending.set(seq, { seq, enqueuedAtMs, size, segment, offset, length });
            bytes += size;
            offset += length + 1;
            lines.push(line);
          }
          const chunk = Buffer.from(lines.join(''));
          await segmentHandle.write(chunk);
          segmentSize += chunk.length;
        }
        await written();
        return { accepted: keep.length, dropped: plan.evict + plan.refuse };
      });
    },
    peek(limit) {
      // Serialised with acks, so no segment is deleted under a read.
      return serial(async () => {
        assertOpen();
        const entries: PendingEntry[] = [];
        for (const entry of pending.values()) {
          if (entries.length >= limit) break;
          entries.push(entry);
        }
        const out: StoredMessage[] = [];
        // One read per run of records that lie back to back in one segment.
        for (let start = 0; start < entries.length; ) {
          const first = entries[start] as PendingEntry;
          let end = start + 1;
          let last = first;
          while (end < entries.length) {
            const entry = entries[end] as PendingEntry;
            if (entry.segment !== first.segment || entry.offset !== last.offset + last.length + 1)
              break;
            last = entry;
            end++;
          }
          const length = last.offset + last.length - first.offset;
          const buffer = Buffer.alloc(length);
          await (await reader(first.segment)).read(buffer, 0, length, first.offset);
          for (const line of buffer.toString('utf8').split('\n')) {
            const record = decodeRecord(line);
            if (!record) {
              throw new InputFormatError(
                `outbox segment ${first.segment.path} changed under the agent: a record no longer reads back`,
              );
            }
            out.push(record);
          }
          start = end;
        }
        return out;
      });
    },
    ack(seqs) {
      return serial(async () => {
        assertOpen();
        const known: number[] = [];
        for (const seq of seqs) {
          const entry = pending.get(seq);
          if (!entry) continue;
          pending.delete(seq);
          bytes -= entry.size;
          known.push(seq);
        }
        await writeAcks(known);
        await written();
        await compact();
      });
    },
    stats() {
      const oldest = pending.values().next().value;
      return {
        depth: pending.size,
        bytes,
        oldestEnqueuedAtMs: oldest?.enqueuedAtMs ?? null,
        droppedTotal,
      };
    },
    close() {
      return serial(async () => {
        if (closed) return;
        closed = true;
        if (timer) clearInterval(timer);
        await segmentHandle.sync();
        await ackHandle.sync();
        await segmentHandle.close();
        await ackHandle.close();
        for (const handle of readers.values()) await handle.close();
        readers.clear();
      });
    },
  };
}

function segmentPath(dir: string, firstSeq: number): string {
  return join(dir, `seg-${String(firstSeq).padStart(16, '0')}.log`);
}

function encodeRecord(message: StoredMessage): string {
  const json = JSON.stringify([
    message.id,
    message.kind,
    message.siteId,
    message.stationId,
    message.body,
  ]);
  const head = `${message.seq}\t${message.enqueuedAtMs}`;
  return `${head}\t${checksum(`${head}\t${json}`)}\t${json}\n`;
}

function decodeRecord(line: string): StoredMessage | null {
  const parts = line.split('\t');
  if (parts.length < 4) return null;
  const [seqText, atText, crc] = parts as [string, string, string];
  const json = parts.slice(3).join('\t');
  if (checksum(`${seqText}\t${atText}\t${json}`) !== crc) return null;
  try {
    const [id, kind, siteId, stationId, body] = JSON.parse(json) as [
      string,
      OutboxMessage['kind'],
      string,
      string,
      string,
    ];
    return {
      id,
      kind,
      siteId,
      stationId,
      body,
      seq: Number(seqText),
      enqueuedAtMs: Number(atText),
    };
  } catch {
    return null;
  }
}

function checksum(text: string): string {
  return crc32(text).toString(16);
}

/** Sorted seqs as inclusive ranges, one `a-b` line each. */
function encodeRanges(seqs: readonly number[]): string {
  const sorted = [...seqs].sort((a, b) => a - b);
  let out = '';
  let start = sorted[0] as number;
  let prev = start;
  for (let i = 1; i <= sorted.length; i++) {
    const seq = sorted[i];
    if (seq === prev + 1) {
      prev = seq;
      continue;
    }
    out += `${start}-${prev}\n`;
    if (seq === undefined) break;
    start = seq;
    prev = seq;
  }
  return out;
}

async function recover(dir: string) {
  const acked = new Set<number>();
  const ackText = await readFile(join(dir, ACK_LOG), 'utf8').catch(() => '');
  for (const line of ackText.split('\n')) {
    const match = /^(\d+)-(\d+)$/.exec(line);
    if (!match) continue;
    for (let seq = Number(match[1]); seq <= Number(match[2]); seq++) acked.add(seq);
  }
  const names = (await readdir(dir)).filter((name) => SEGMENT.test(name)).sort();
  const segments: Segment[] = [];
  const pending = new Map<number, PendingEntry>();
  let nextSeq = 1;
  for (const name of names) {
    const firstSeq = Number(SEGMENT.exec(name)?.[1]);
    const path = join(dir, name);
    const segment = { firstSeq, path };
    segments.push(segment);
    nextSeq = Math.max(nextSeq, firstSeq);
    const text = await readFile(path, 'utf8');
    let goodBytes = 0;
    for (const line of text.split('\n')) {
      const record = line === '' ? null : decodeRecord(line);
      if (!record) break;
      const length = Buffer.byteLength(line);
      if (!acked.has(record.seq)) {
        pending.set(record.seq, {
          seq: record.seq,
          enqueuedAtMs: record.enqueuedAtMs,
          size: messageBytes(record),
          segment,
          offset: goodBytes,
          length,
        });
      }
      goodBytes += length + 1;
      nextSeq = Math.max(nextSeq, record.seq + 1);
    }
    // A torn tail (power loss mid-write) is cut so new records start on a clean line.
    if (goodBytes < Buffer.byteLength(text)) await truncateTo(path, goodBytes);
  }
  return { pending, segments, nextSeq };
}

async function truncateTo(path: string, size: number) {
  const handle: FileHandle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
