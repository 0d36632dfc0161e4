/**
 * Hands deliveries from a push-style client to one `for await` loop in batches: whatever
 * arrived while the previous batch was being committed, up to `maxBatch`. Batching is what
 * lets one DuckDB append and one Redis round trip serve thousands of readings.
 */
export interface Delivery {
  readonly data: Uint8Array;
  /** Topic or subject the message arrived on. */
  readonly subject: string;
  /** Arrival time at this process (epoch ms), for latency metrics. */
  readonly receivedAtMs: number;
  /** Acknowledge to the broker; call only after the effects are committed. */
  ack(): void;
}

export interface BatchQueue {
  push(delivery: Delivery): void;
  /** Ends iteration once the queue is drained. */
  end(): void;
  batches(): AsyncIterableIterator<Delivery[]>;
}

/**
 * `lingerMs` > 0 makes micro-batches by size or time: a batch smaller than `maxBatch` waits up
 * to `lingerMs` after its first delivery for more (sources that hand over one message per
 * connection at a time, like MQTT with ack-after-commit, need it to batch at all).
 */
export function createBatchQueue(maxBatch: number, lingerMs = 0): BatchQueue {
  let queue: Delivery[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  return {
    push(delivery) {
      queue.push(delivery);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    async *batches() {
      while (true) {
        if (queue.length === 0) {
          if (ended) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        if (lingerMs > 0 && queue.length < maxBatch && !ended) {
          const deadline = Date.now() + lingerMs;
          while (queue.length < maxBatch && !ended && Date.now() < deadline) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, deadline - Date.now());
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
          wake = null;
        }
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        yield batch;
      }
    },
  };
}
