/**
 * The OpenAPI 3.1 document of the HTTP intake, generated from its route table (src/intake/api.ts) with zod 4's
 * own JSON Schema output (`z.toJSONSchema`; OpenAPI 3.1 schemas are JSON Schema 2020-12). Named schemas go to
 * components and are referenced; every route's answers are listed with their status codes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { API_ROUTES, ErrorSchema, apiSchemas, type ApiAnswer, type ApiRoute } from './api';

type Json = Record<string, unknown>;

const REF = (id: string) => `#/components/schemas/${id}`;

/** A JSON Schema without the keys OpenAPI gives itself ($schema) or that the component's place gives ($id). */
function clean(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function schemaFor(schema: z.ZodType): Json {
  const id = apiSchemas.get(schema)?.id;
  if (id) return { $ref: REF(id) };
  return clean(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json);
}

function content(a: ApiAnswer): Json | undefined {
  if (a.contentType && a.contentType !== 'application/json')
    return { [a.contentType]: { schema: { type: 'string' } } };
  if (!a.schema) return undefined;
  const list = Array.isArray(a.schema) ? a.schema : [a.schema];
  const schema = list.length === 1 ? schemaFor(list[0]!) : { oneOf: list.map(schemaFor) };
  return { 'application/json': { schema } };
}

function operation(r: ApiRoute): Json {
  const parameters: Json[] = [];
  for (const [name, description] of Object.entries(r.params ?? {}))
    parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } });
  if (r.query) {
    for (const [name, prop] of Object.entries(r.query.shape as Record<string, z.ZodType>)) {
      const schema = clean(z.toJSONSchema(prop, { io: 'input', unrepresentable: 'any' }) as Json);
      const { description, ...rest } = schema;
      parameters.push({
        name,
        in: 'query',
        required: !prop.safeParse(undefined).success,
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  const responses: Json = {};
  const answers: Record<number, ApiAnswer> = {
    ...r.answers,
    500: { description: 'Something went wrong inside the intake (said in its log).', schema: ErrorSchema },
  };
  for (const [status, a] of Object.entries(answers)) {
    const c = content(a);
    responses[status] = { description: a.description, ...(c ? { content: c } : {}) };
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    security: r.public ? [] : [{ bearerToken: [] }],
    ...(parameters.length ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: r.body.required,
            description: r.body.description,
            content: { 'application/json': { schema: schemaFor(r.body.schema) } },
          },
        }
      : {}),
    responses,
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

let cached: Json | undefined;

/** The document (built once: the table does not change while the process runs). */
export function openApiDocument(): Json {
  if (cached) return cached;
  const components = z.toJSONSchema(apiSchemas, { uri: REF, io: 'input', unrepresentable: 'any' }) as {
    schemas: Record<string, Json>;
  };
  const schemas: Record<string, Json> = {};
  for (const [id, s] of Object.entries(components.schemas)) schemas[id] = clean(s);
  const paths: Record<string, Json> = {};
  for (const r of API_ROUTES) {
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = operation(r);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'oasis-alma-rto HTTP intake',
      version: packageVersion(),
      description:
        'Places ProQuest OASIS orders into Ex Libris Alma, one Temporal workflow per order. Every route but ' +
        '/healthz, /openapi.json and /docs wants the bearer token. Each answer carries X-Request-Id (the ' +
        "request's own when it is sane, else a new one).",
    },
    components: {
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer' } },
      schemas,
    },
    paths,
  };
  return cached;
}
