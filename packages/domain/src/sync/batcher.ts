/**
 * Group batching: items submitted while a write is in flight are written together by the next
 * one. Alone, an item is written at once, so batching never adds a wait; under load, one round
 * trip carries many items. Each caller gets its own item's outcome.
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
}

export interface BatcherOptions {
  /** Most items per write. */
  maxBatch: number;
  /** Most writes in flight at once. */
  maxInFlight: number;
}

/**
 * @param write writes a batch and settles each item (same order); a rejection fails the whole
 *   batch with that error.
 */
export function createBatcher<I, O>(
  write: (items: I[]) => Promise<Array<PromiseSettledResult<O>>>,
  options: BatcherOptions,
): Batcher<I, O> {
  type Pending = { item: I; resolve(value: O): void; reject(error: unknown): void };
  let queue: Pending[] = [];
  let inFlight = 0;

  const run = async (batch: Pending[]) => {
    try {
      const settled = await write(batch.map((p) => p.item));
      for (const [i, pending] of batch.entries()) {
        const outcome = settled[i];
        if (outcome === undefined) pending.reject(new Error('batch write settled fewer items than given'));
        else if (outcome.status === 'fulfilled') pending.resolve(outcome.value);
        else pending.reject(outcome.reason);
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };
  const pump = () => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, options.maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
  };
}
