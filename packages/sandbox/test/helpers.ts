import { DEMO_API_KEY } from '../src/index.ts';

export const VERSIONS = { slots: '2024-09-04', bookings: '2024-08-13', eventTypes: '2024-06-14' } as const;

/** A raw HTTP call to the sandbox, as Cal.com's clients make them. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    key?: string | null;
    version?: string | null;
    query?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const url = new URL(`${baseUrl}${path}`);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const family = path.startsWith('/slots')
    ? 'slots'
    : path.startsWith('/bookings')
      ? 'bookings'
      : path.startsWith('/event-types')
        ? 'eventTypes'
        : undefined;
  const version =
    options.version === undefined ? (family === undefined ? undefined : VERSIONS[family]) : options.version;
  const key = options.key === undefined ? DEMO_API_KEY : options.key;
  const response = await fetch(url, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(version === undefined || version === null ? {} : { 'cal-api-version': version }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : JSON.parse(text),
    headers: response.headers,
  };
}

/** The next weekday (Mon-Fri) at least two days ahead, as YYYY-MM-DD. */
export function nextWorkday(offsetDays = 2): string {
  const date = new Date(Date.now() + offsetDays * 86_400_000);
  while (date.getUTCDay() === 0 || date.getUTCDay() === 6) date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

export function attendee(email = 'ada@example.org') {
  return { name: 'Ada Lovelace', email, timeZone: 'Europe/Berlin' };
}
