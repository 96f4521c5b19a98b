/**
 * How many `Prefer: wait` requests this process holds at once per company. A request past the
 * bound is answered at once (202 and a Location to poll), so one company's burst of waiting
 * requests cannot hold every connection of the process.
 */
export interface WaitSlots {
  /** Runs `wait` when the company has a free slot; false (without waiting) when it has none. */
  hold(companyId: string, wait: () => Promise<unknown>): Promise<boolean>;
  /** Requests waiting now for the company. */
  held(companyId: string): number;
}

export function createWaitSlots(perCompany: number): WaitSlots {
  const waiting = new Map<string, number>();
  return {
    async hold(companyId, wait) {
      const now = waiting.get(companyId) ?? 0;
      if (now >= perCompany) return false;
      waiting.set(companyId, now + 1);
      try {
        await wait();
        return true;
      } finally {
        const left = (waiting.get(companyId) ?? 1) - 1;
        if (left === 0) waiting.delete(companyId);
        else waiting.set(companyId, left);
      }
    },
    held: (companyId) => waiting.get(companyId) ?? 0,
  };
}
