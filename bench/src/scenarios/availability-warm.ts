/** Benchmark 2: availability with a warm cache against a bare route answering the same JSON from memory. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { testDay } from '@calgate/testkit';
import { load } from '../procs.ts';
import { add, fmt, raw } from '../report.ts';
import {
  API_PORT,
  api,
  auth,
  BASELINE_PORT,
  baseEnv,
  baseline,
  haircut,
  procs,
  SECONDS,
  say,
  stopAll,
} from '../setup.ts';

export async function availabilityWarm(): Promise<void> {
  say('2: availability, cache warm');

  const a = await api(baseEnv('b2'));
  procs.push(a);
  const day = testDay();
  const url = `http://127.0.0.1:${API_PORT}/api/v2/services/${haircut}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`;
  const warm = await fetch(url, { headers: auth });
  const bodyText = await warm.text();
  const bodyFile = `${process.cwd()}/bench/results/.availability.json`;
  mkdirSync(`${process.cwd()}/bench/results`, { recursive: true });
  writeFileSync(bodyFile, bodyText);
  const spec = { connections: 50, durationSeconds: SECONDS, method: 'GET' as const, headers: auth };
  await load({ ...spec, url, durationSeconds: 2 });
  const gateway = await load({ ...spec, url });
  await stopAll();
  const b = await baseline('static-json', { BODY_FILE: bodyFile });
  procs.push(b);
  await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/json`, durationSeconds: 2 });
  const base = await load({ ...spec, url: `http://127.0.0.1:${BASELINE_PORT}/json` });
  await stopAll();
  raw.availability = { gateway, baseline: base, bodyBytes: bodyText.length };
  const ratio = gateway.requestsPerSec / base.requestsPerSec;
  add({
    id: 2,
    what: 'Availability, cache warm, 50 connections',
    measured: `${fmt(gateway.requestsPerSec, 0)} req/s, p99 ${gateway.p99} ms`,
    baseline: `bare route, same JSON from memory ${fmt(base.requestsPerSec, 0)} req/s, p99 ${base.p99} ms`,
    ratio,
    target: '>= 0.8x, p99 <= 10 ms',
    met: ratio >= 0.8 && gateway.p99 <= 10 && gateway.non2xx === 0,
  });
}
