export interface RateLimitInfo {
  limit: number | undefined;
  remaining: number | undefined;
  /** Seconds until the window resets (or the block ends). */
  resetSeconds: number | undefined;
}

function numberHeader(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = Number(raw);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

/** Reads Cal.com's `X-RateLimit-*-Default` headers (there is no Retry-After). */
export function readRateLimit(
  headers: Record<string, string | string[] | undefined>,
): RateLimitInfo | undefined {
  const info = {
    limit: numberHeader(headers['x-ratelimit-limit-default']),
    remaining: numberHeader(headers['x-ratelimit-remaining-default']),
    resetSeconds: numberHeader(headers['x-ratelimit-reset-default']),
  };
  return info.limit === undefined && info.remaining === undefined && info.resetSeconds === undefined
    ? undefined
    : info;
}
