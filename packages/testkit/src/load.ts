/** Runs `tasks` with at most `limit` in flight; the results in the tasks' order. */
export async function pool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await (tasks[index] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

/** Distinct days the sandbox's salon is open (Mon-Sat), starting `from` days ahead. */
export function openDays(from: number, count: number): string[] {
  const days: string[] = [];
  const date = new Date(Date.now() + from * 86_400_000);
  while (days.length < count) {
    if (date.getUTCDay() !== 0) days.push(date.toISOString().slice(0, 10));
    date.setUTCDate(date.getUTCDate() + 1);
  }
  return days;
}
