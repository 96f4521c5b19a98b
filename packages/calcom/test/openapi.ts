import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

const doc = JSON.parse(
  readFileSync(new URL('../contract/openapi-v2.json', import.meta.url), 'utf8'),
) as OpenApiDocument;

/**
 * Where Cal.com's OpenAPI document contradicts the contract (docs/calcom-contract.md, which wins),
 * the schema the contract describes replaces the document's, so that these exchanges are checked
 * too rather than skipped. Each correction says which statement of the contract it follows.
 */
/** The `properties` of a component schema, to be replaced in place. */
const propertiesOf = (d: OpenApiDocument, name: string) =>
  (d.components.schemas[name] as { properties: Record<string, unknown> }).properties;

const TRIGGERS = (propertiesOf(doc, 'CreateWebhookInputDto').triggers as { enum: string[] }).enum;

const CORRECTIONS: ReadonlyArray<{ at: string; why: string; apply(doc: OpenApiDocument): void }> = [
  {
    at: 'CreateWebhookInputDto.triggers, UpdateWebhookInputDto.triggers',
    why: 'typed as one string, but its own example and Cal.com take an array of UPPER_SNAKE triggers',
    apply(d) {
      for (const name of ['CreateWebhookInputDto', 'UpdateWebhookInputDto']) {
        propertiesOf(d, name).triggers = { type: 'array', items: { type: 'string', enum: TRIGGERS } };
      }
    },
  },
  {
    at: 'UserWebhookOutputDto.id, .triggers, .payloadTemplate',
    why: "the id is a UUID string and triggers are the trigger names (contract); a webhook registered without a template answers null (Cal.com's column is nullable)",
    apply(d) {
      const properties = propertiesOf(d, 'UserWebhookOutputDto');
      properties.id = { type: 'string', format: 'uuid' };
      properties.triggers = { type: 'array', items: { type: 'string', enum: TRIGGERS } };
      properties.payloadTemplate = { type: 'string', nullable: true };
    },
  },
  {
    at: 'GET /v2/slots 200',
    why: 'describes a bare map of plain strings, while its own example and Cal.com send {status, data} with data a map date -> [{start}] ([{start, end}] with format=range)',
    apply(d) {
      const response = d.paths['/v2/slots']?.get?.responses?.['200'] as {
        content: { 'application/json': { schema: unknown } };
      };
      const slot = {
        type: 'object',
        required: ['start'],
        additionalProperties: false,
        properties: {
          start: { type: 'string', format: 'date-time' },
          end: { type: 'string', format: 'date-time' },
        },
      };
      response.content['application/json'].schema = {
        type: 'object',
        required: ['status', 'data'],
        properties: {
          status: { type: 'string', enum: ['success'] },
          data: {
            type: 'object',
            propertyNames: { format: 'date' },
            additionalProperties: { type: 'array', items: slot },
          },
        },
      };
    },
  },
  {
    at: 'GetReservedSlotOutput_2024_09_04.data',
    why: 'refers to the response itself; Cal.com answers the reservation (ReserveSlotOutput_2024_09_04) or null',
    apply(d) {
      propertiesOf(d, 'GetReservedSlotOutput_2024_09_04').data = {
        nullable: true,
        allOf: [{ $ref: '#/components/schemas/ReserveSlotOutput_2024_09_04' }],
      };
    },
  },
];
for (const correction of CORRECTIONS) correction.apply(doc);

/**
 * OpenAPI 3.0 as JSON Schema: `nullable` becomes `type: [t, 'null']` (or anyOf with null when
 * untyped), and `oneOf` becomes `anyOf`: the document's alternatives (plain/instant/recurring
 * bookings, location kinds) overlap because their discriminating `type` fields carry no enum, so
 * "exactly one" can never hold for a valid body.
 */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node as Record<string, unknown>).map(
    ([k, v]) => [k === 'oneOf' ? 'anyOf' : k, normalise(v)] as const,
  );
  const out: Record<string, unknown> = Object.fromEntries(entries);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addSchema({ ...(normalise(doc) as object), $id: 'openapi' });

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
const cache = new Map<string, ValidateFunction>();

function validatorAt(pointer: string): ValidateFunction {
  let fn = cache.get(pointer);
  if (fn === undefined) {
    fn = ajv.compile({ $ref: `openapi#${pointer}` });
    cache.set(pointer, fn);
  }
  return fn;
}

/** The OpenAPI path template matching a concrete path, e.g. /v2/bookings/{bookingUid}/cancel. */
export function templateFor(method: string, path: string): string | undefined {
  const segments = path.split('/');
  return Object.keys(doc.paths).find((template) => {
    const parts = template.split('/');
    return (
      parts.length === segments.length &&
      doc.paths[template]?.[method.toLowerCase()] !== undefined &&
      parts.every((part, i) => part.startsWith('{') || part === segments[i])
    );
  });
}

/** Problems of a request body against the operation's requestBody schema (empty: valid). */
export function requestProblems(method: string, path: string, body: unknown): string[] {
  const template = templateFor(method, path);
  if (template === undefined) return [`no OpenAPI operation for ${method} ${path}`];
  const operation = doc.paths[template]?.[method.toLowerCase()];
  if (operation?.requestBody === undefined) return body === undefined ? [] : ['operation takes no body'];
  const fn = validatorAt(
    `/paths/${escapePointer(template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`,
  );
  return fn(body) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Problems of a response body against the schema documented for its status. */
export function responseProblems(method: string, path: string, status: number, body: unknown): string[] {
  const template = templateFor(method, path);
  if (template === undefined) return [`no OpenAPI operation for ${method} ${path}`];
  const responses = doc.paths[template]?.[method.toLowerCase()]?.responses ?? {};
  if (!(String(status) in responses)) return [`status ${status} is not documented for ${method} ${template}`];
  const fn = validatorAt(
    `/paths/${escapePointer(template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`,
  );
  return fn(body) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
