import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogApply } from '@calgate/cli/admin';
import { companyCreate } from '@calgate/cli/operations';
import { listAdminServices, listStaff } from '@calgate/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

/** The sandbox account of Casey (user 4): a salon with its own Cal.com key. */
const CASEY_KEY = 'cal_test_sandbox_casey';
const CUT = 7001;
const EXAMPLE = fileURLToPath(new URL('../docs/examples/salon-catalog.yaml', import.meta.url));
const COLOUR = 7002;

let gw: Gateway;
let dir: string;
let companyId: string;
let token: string;
const lines: string[] = [];
const ops = () => ({ runtime: gw.runtime(), out: (line: string) => lines.push(line) });

const catalogYaml = (cutMinutes = 30, cutEventType = CUT) => `# Casey's salon, kept in version control
staff:
  - key: casey
    name: Casey
    email: casey@salon.example
    calcomUserId: 4
services:
  - key: cut
    name: Cut
    segments:
      - name: Cut
        durationMinutes: ${cutMinutes}
        eventTypes:
          casey: ${cutEventType}
  - key: colour-cut
    name: Colour and cut
    preferSameStaff: true
    segments:
      - name: Colour
        durationMinutes: 45
        pauseAfterMinutes: 30
        eventTypes: { casey: ${COLOUR} }
      - name: Cut
        durationMinutes: 30
        eventTypes: { casey: ${CUT} }
`;

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function apply(path: string, dryRun = false): Promise<string[]> {
  lines.length = 0;
  await catalogApply(ops(), companyId, path, { dryRun });
  return [...lines];
}

const snapshot = async () => ({
  staff: await listStaff(gw.runtime(), companyId),
  services: await listAdminServices(gw.runtime(), companyId),
});

beforeAll(async () => {
  gw = await startGateway({ worker: false });
  dir = await mkdtemp(join(tmpdir(), 'calgate-catalog-'));
  for (const [id, slug, length] of [
    [CUT, 'cut-casey', 30],
    [COLOUR, 'colour-casey', 45],
  ] as const) {
    gw.sandbox.control.addEventType({
      id,
      ownerId: 4,
      hostIds: [4],
      title: slug,
      slug,
      lengthInMinutes: length,
      slotIntervalMinutes: 15,
    });
  }
  const created = await companyCreate(ops(), {
    name: 'Casey Hair',
    timezone: 'Europe/Berlin',
    calcomApiKey: CASEY_KEY,
  });
  companyId = created.companyId;
  token = created.token;
});
afterAll(async () => {
  await gw.close();
  await rm(dir, { recursive: true, force: true });
});

describe('pnpm cli catalog:apply', () => {
  it('prints the diff and changes nothing with --dry-run', async () => {
    const out = await apply(await file('salon.yaml', catalogYaml()), true);
    expect(out).toContain(
      '+ staff casey: key="casey", name="Casey", email="casey@salon.example", calcomUserId=4, timeZone="Europe/Berlin", active=true',
    );
    expect(
      out.some((line) => line.startsWith('+ service colour-cut: key="colour-cut", name="Colour and cut"')),
    ).toBe(true);
    expect(out).toContain(`+ mapping colour-cut#0 casey: eventTypeId=${COLOUR}`);
    expect(out).toContain(`+ mapping colour-cut#1 casey: eventTypeId=${CUT}`);
    expect(out.at(-1)).toBe('dry run: 6 change(s) not applied');
    expect(await snapshot()).toEqual({ staff: [], services: [] });
  });

  it('applies a YAML catalog, printing the diff first', async () => {
    const out = await apply(await file('salon.yaml', catalogYaml()));
    expect(out.slice(0, -1)).toHaveLength(6);
    expect(out.at(-1)).toBe('applied 6 change(s)');
    const { staff, services } = await snapshot();
    expect(staff).toMatchObject([{ key: 'casey', calcomUserId: 4, timeZone: 'Europe/Berlin', active: true }]);
    const composite = services.find((s) => s.key === 'colour-cut');
    expect(composite).toMatchObject({
      kind: 'composite',
      preferSameStaff: true,
      active: true,
      segments: [
        { position: 0, durationMinutes: 45, pauseAfterMinutes: 30, mappings: [{ eventTypeId: COLOUR }] },
        { position: 1, durationMinutes: 30, pauseAfterMinutes: 0, mappings: [{ eventTypeId: CUT }] },
      ],
    });
    expect(services.find((s) => s.key === 'cut')).toMatchObject({ kind: 'simple', active: true });
  });

  it('changes nothing when the same file is applied again', async () => {
    const before = await snapshot();
    const out = await apply(await file('salon.yaml', catalogYaml()));
    expect(out).toEqual(['no changes: the company already matches the catalog']);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses the whole file, naming each mismatch, when a mapping does not match Cal.com', async () => {
    const before = await snapshot();
    // The cut segment made 45 minutes while its event type lasts 30; and an event type of
    // another Cal.com account (the default one) is not the company's.
    const text = catalogYaml(45).replace(
      `eventTypes: { casey: ${COLOUR} }`,
      `eventTypes: { casey: ${HAIRCUT.alex} }`,
    );
    await expect(apply(await file('wrong.yaml', text))).rejects.toThrow('catalog not applied');
    expect(lines).toContain('nothing applied: 2 mapping(s) do not match Cal.com');
    expect(lines).toContain(
      `    services.0.segments.0.eventTypes.casey: event type ${CUT} lengthInMinutes expected 45, actual 30`,
    );
    expect(lines).toContain(
      `    services.1.segments.0.eventTypes.casey: event type ${HAIRCUT.alex} eventType expected an event type of the company's Cal.com connection, inside its scope, actual event type ${HAIRCUT.alex} not found`,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('names the bad field of a file that does not follow the format', async () => {
    const path = await file('bad.yaml', catalogYaml().replace('durationMinutes: 45', 'durationMinutes: -5'));
    await expect(apply(path)).rejects.toThrow('services.1.segments.0.durationMinutes');
    const unknownStaff = await file(
      'unknown.yaml',
      catalogYaml().replace('{ casey: 7001 }', '{ robin: 7001 }'),
    );
    await expect(apply(unknownStaff)).rejects.toThrow(
      'services.1.segments.1.eventTypes.robin: no staff member with key robin in this catalog',
    );
  });

  it('deactivates a service left out of a JSON catalog, once', async () => {
    const catalog = {
      staff: [{ key: 'casey', name: 'Casey', email: 'casey@salon.example', calcomUserId: 4 }],
      services: [
        {
          key: 'colour-cut',
          name: 'Colour and cut',
          preferSameStaff: true,
          segments: [
            { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30, eventTypes: { casey: COLOUR } },
            { name: 'Cut', durationMinutes: 30, eventTypes: { casey: CUT } },
          ],
        },
      ],
    };
    const path = await file('salon.json', JSON.stringify(catalog));
    expect(await apply(path, true)).toEqual([
      '- service cut: deactivated',
      'dry run: 1 change(s) not applied',
    ]);
    expect(await apply(path)).toEqual(['- service cut: deactivated', 'applied 1 change(s)']);
    const { services } = await snapshot();
    expect(services.find((s) => s.key === 'cut')).toMatchObject({ active: false });
    expect(await apply(path)).toEqual(['no changes: the company already matches the catalog']);
  });

  it("lets the company's callers see and use the catalog through the company's own Cal.com key", async () => {
    const listed = await gw.app.inject({ method: 'GET', url: '/api/v2/services', headers: auth(token) });
    expect(listed.statusCode).toBe(200);
    const services = listed.json().services;
    expect(services.map((s: { name: string }) => s.name)).toEqual(['Colour and cut']);
    const day = testDay();
    const slots = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${services[0].id}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(token),
    });
    expect(slots.statusCode, slots.body).toBe(200);
    expect(slots.json().slots.length).toBeGreaterThan(0);
    expect(slots.json().slots[0].segments.map((s: { staff: { name: string } }) => s.staff.name)).toEqual([
      'Casey',
      'Casey',
    ]);
  });

  it('adopts staff and services that have no key instead of duplicating them (the example catalog)', async () => {
    // The gateway's seeded company: Alex (user 2), Billie (user 3), Haircut and Colour and cut,
    // made without keys, as the event-type sync makes them.
    const seeded = gw.company.companyId;
    lines.length = 0;
    await catalogApply({ runtime: gw.runtime(), out: (line) => lines.push(line) }, seeded, EXAMPLE, {
      dryRun: false,
    });
    expect(lines).toContain(
      '~ staff alex: key null -> "alex", email null -> "alex@salon.example", timeZone "UTC" -> "Europe/Berlin"',
    );
    expect(lines.filter((line) => line.startsWith('+'))).toEqual([]);
    const staff = await listStaff(gw.runtime(), seeded);
    expect(staff.map((s) => s.key).sort()).toEqual(['alex', 'billie']);
    const services = await listAdminServices(gw.runtime(), seeded);
    expect(
      services
        .filter((s) => s.key !== null)
        .map((s) => s.id)
        .sort(),
    ).toEqual([gw.company.serviceIds[0], gw.company.serviceIds[2]].sort());
    lines.length = 0;
    await catalogApply({ runtime: gw.runtime(), out: (line) => lines.push(line) }, seeded, EXAMPLE, {
      dryRun: false,
    });
    expect(lines).toEqual(['no changes: the company already matches the catalog']);
  });

  it('has no operator API over HTTP while no operator credentials are configured', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/admin/v1/companies', headers: auth(token) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('set ADMIN_USERNAME and ADMIN_PASSWORD');
  });
});

describe('catalog:apply: a file it refuses leaves the company as it was', () => {
  /** A company of the shared account with nothing in it yet. */
  const freshCompany = async (name: string) =>
    (await companyCreate(ops(), { name, timezone: 'Europe/Berlin' })).companyId;
  const applyTo = async (id: string, path: string, dryRun = false) => {
    lines.length = 0;
    await catalogApply(ops(), id, path, { dryRun });
  };
  const keys = async (id: string) =>
    (await listStaff(gw.runtime(), id)).map((s) => `${s.key}:${s.active}`).sort();

  it('refuses two staff members with one email, naming the second, in the dry run too', async () => {
    const id = await freshCompany('One desk email');
    const path = await file(
      'shared-email.yaml',
      `staff:
  - { key: alex, name: Alex, email: Front-Desk@salon.example }
  - { key: billie, name: Billie, email: front-desk@salon.example }
`,
    );
    await expect(applyTo(id, path, true)).rejects.toThrow(
      "staff.1.email: is already alex's email in this catalog",
    );
    await expect(applyTo(id, path)).rejects.toThrow('staff.1.email');
    expect(await keys(id)).toEqual([]);
  });

  it("refuses giving a staff member's email to a new key, before anything is written", async () => {
    const id = await freshCompany('Renamed key');
    await applyTo(
      id,
      await file('v1.yaml', 'staff:\n  - { key: casey, name: Casey, email: casey@salon.example }\n'),
    );
    const v2 = await file(
      'v2.yaml',
      `staff:
  - { key: dana, name: Dana, email: dana@salon.example }
  - { key: casey-m, name: Casey M., email: casey@salon.example }
services:
  - key: wash
    name: Wash
    segments: [{ name: Wash, durationMinutes: 30 }]
`,
    );
    await expect(applyTo(id, v2, true)).rejects.toThrow(
      'staff.1.email: already the email of staff member casey, whom this file does not list',
    );
    await expect(applyTo(id, v2)).rejects.toThrow('staff.1.email');
    expect(await keys(id)).toEqual(['casey:true']);
    expect(await listAdminServices(gw.runtime(), id)).toEqual([]);
  });

  it('writes nothing when a step fails half-way (two staff members swapping emails)', async () => {
    const id = await freshCompany('Swapped emails');
    await applyTo(
      id,
      await file(
        'swap-v1.yaml',
        `staff:
  - { key: ash, name: Ash, email: one@salon.example }
  - { key: bo, name: Bo, email: two@salon.example }
`,
      ),
    );
    // Dana is written before the swap, whose first update meets the unique email: the whole file
    // is rolled back, Dana with it.
    const swap = await file(
      'swap-v2.yaml',
      `staff:
  - { key: dana, name: Dana, email: dana@salon.example }
  - { key: ash, name: Ash, email: two@salon.example }
  - { key: bo, name: Bo, email: one@salon.example }
`,
    );
    await expect(applyTo(id, swap)).rejects.toThrow(/same email or key/);
    const staff = await listStaff(gw.runtime(), id);
    expect(staff.map((s) => [s.key, s.email]).sort()).toEqual([
      ['ash', 'one@salon.example'],
      ['bo', 'two@salon.example'],
    ]);
  });
});
