import { QUEUE_NAMES } from '@calgate/jobs';
import { realClockEnv } from '@calgate/testkit';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, startGateway, testDay } from './support/gateway.ts';

// Bull Board as an operator sees it: the real page in headless Chromium (Debian's package, installed
// by scripts/bootstrap.sh), not the dashboard's JSON API. Playwright never downloads a browser of its
// own: it drives the one on the machine.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN = { username: 'operator', password: 'correct-horse-battery' };

let gw: Gateway;
let browser: Browser;
let dashboard: string;
beforeAll(async () => {
  gw = await startGateway({
    listen: true,
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  dashboard = `${gw.baseUrl}/admin/queues`;
  // An operator's browser runs on another machine: like the servers, it keeps the real clock when
  // the suite runs with a moved one (scripts/test-any-day.sh; Chromium crawls under libfaketime).
  const env = Object.entries(realClockEnv()).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    env: Object.fromEntries(env),
  });
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** A page whose requests carry the operator's credentials, as a browser does after the login prompt. */
async function operatorPage() {
  const context = await browser.newContext({ httpCredentials: { ...ADMIN, send: 'always' } });
  return { page: await context.newPage(), close: () => context.close() };
}

/**
 * Resolves with the return value the next time job `jobId` of `queue` completes. Listening starts
 * before the caller acts, so the event cannot be missed.
 */
async function nextCompletion(queue: string, jobId: string) {
  const connection = new Redis(gw.config.redis.url, { maxRetriesPerRequest: null });
  const events = new QueueEvents(queue, { connection, prefix: gw.config.redis.queuePrefix });
  await events.waitUntilReady();
  let timer: NodeJS.Timeout | undefined;
  const completed = new Promise<string>((resolve, reject) => {
    events.on('completed', (event) => {
      if (event.jobId === jobId) resolve(event.returnvalue);
    });
    // Generous, as `eventually` is: a passing run resolves at once.
    timer = setTimeout(() => reject(new Error(`job ${jobId} did not complete again in 60 s`)), 60_000);
  });
  return {
    completed,
    async close() {
      clearTimeout(timer);
      await events.close();
      await connection.quit();
    },
  };
}

describe('the queue dashboard in a browser', () => {
  it('refuses the page without credentials', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const refused = page.waitForResponse((response) => response.url() === dashboard);
      // Headless Chromium cannot show the login prompt the 401 asks for: it abandons the navigation
      // (net::ERR_INVALID_AUTH_CREDENTIALS) after the answer arrived, and the answer is what counts.
      await page.goto(dashboard).catch(() => undefined);
      const response = await refused;
      expect(response.status()).toBe(401);
      expect(await response.headerValue('www-authenticate')).toContain('Basic');
      expect(await page.locator('a[href*="/queue/"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('refuses the page with a wrong password', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: ADMIN.username, password: 'wrong-password', send: 'always' },
    });
    try {
      const response = await (await context.newPage()).goto(dashboard);
      expect(response?.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('shows every queue of the job catalog', async () => {
    const { page, close } = await operatorPage();
    try {
      const response = await page.goto(dashboard);
      expect(response?.status()).toBe(200);
      await expect.poll(() => page.title()).toBe('calgate queues');
      // Each queue is a link to its own page, drawn once the page has fetched the queue list.
      for (const name of QUEUE_NAMES) {
        await page.locator(`a[href$="/queue/${name}"]`).first().waitFor({ timeout: 60_000 });
      }
      const linked = await page.locator('a[href*="/queue/"]').evaluateAll((links) =>
        // A queue with jobs in a state also links to that state (`/queue/<name>?status=active`).
        links.map((link) =>
          decodeURIComponent(link.getAttribute('href')?.split('/queue/')[1]?.split('?')[0] ?? ''),
        ),
      );
      expect(new Set(linked)).toEqual(new Set(QUEUE_NAMES));
    } finally {
      await close();
    }
  });

  it('retries a failed job from the page, and the worker runs it again', async () => {
    // Cal.com refuses the slot, which is not retryable: the booking job fails on its first attempt.
    gw.sandbox.control.injectFault({
      operation: 'bookings.create',
      status: 400,
      body: { statusCode: 400, message: 'User either already has booking at this time or is not available' },
      count: 1,
    });
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(gw.company.token, { prefer: 'wait=30' }),
      payload: {
        serviceId: gw.company.serviceIds[0],
        staffId: gw.company.staffIds[0],
        start: berlin(testDay(), '10:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Robin Retry', email: 'robin@example.org' },
      },
    });
    expect(booked.statusCode).toBe(409);
    const jobId = `booking-create-${booked.json().error.details.appointmentId}`;
    const bookings = gw.runtime().queues.queue('bookings');
    // The answer can come as the appointment is marked failed, a moment before BullMQ moves the job.
    await eventually(async () => ((await bookings.getJobState(jobId)) === 'failed' ? true : undefined));

    const rerun = await nextCompletion('bookings', jobId);
    const { page, close } = await operatorPage();
    try {
      await page.goto(`${dashboard}/queue/bookings?status=failed`);
      const link = page.locator(`a[href*="/queue/bookings/${jobId}?"]`);
      await link.waitFor({ timeout: 60_000 });
      const card = link.locator('xpath=ancestor::div[.//ul[contains(@class, "jobActions")]][1]');
      await card.locator('button:has(svg.lucide-refresh-cw)').click();
      // Bull Board asks before it acts on a job.
      const dialog = page.getByRole('alertdialog').filter({ hasText: 'retry this job' });
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      // The worker runs the job again: the appointment has failed meanwhile, so this run completes
      // by skipping it (the booking is not retried behind the customer's back).
      expect(await rerun.completed).toBe('skipped-failed');
    } finally {
      await close();
      await rerun.close();
    }
    expect(await bookings.getJobState(jobId)).toBe('completed');
  });
});
