// The OpenAPI document at /docs/json lists every route of the app with its error responses, and
// the errors the routes really answer are the documented ones (issue 7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';

type App = Awaited<ReturnType<Harness['app']>>;

interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
};

/** Method and path of every route, read off Fastify's route tree (HEAD twins of GET left out). */
function registeredRoutes(app: App): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

/** Not API routes: the documentation UI itself, and the pages' static files (the buyer's page at /). */
const isDocsOrStaticFile = (route: string) => {
  const url = route.split(' ')[1]!;
  return url === '/docs' || url.startsWith('/docs/') || url === '/' || /\/[^/]+\.[a-z0-9]+$/i.test(url);
};

describe('OpenAPI document', () => {
  let h: Harness;
  let app: App;
  let doc: Document;
  before(async () => {
    h = await createHarness();
    app = await h.app();
    const res = await app.inject('/docs/json');
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(() => h.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

  test('openapi.lists-every-route-of-the-app', () => {
    assert.match(doc.openapi, /^3\./);
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    const routes = registeredRoutes(app).filter((r) => !isDocsOrStaticFile(r));
    assert.ok(routes.length >= 15, `found the app's routes: ${routes.join(', ')}`);
    assert.deepEqual(routes.filter((r) => !documented.has(r)), [], 'routes missing from the document');
    for (const required of ['POST /queue/join', 'GET /reservation/status', 'GET /admin/stats', 'POST /admin/ticket-types/:id/pause', 'GET /metrics', 'GET /admin']) {
      assert.ok(documented.has(required), required);
    }
  });

  test('openapi.every-route-documents-its-errors', () => {
    for (const { method, path, op } of operations()) {
      const name = `${method} ${path}`;
      const errors = Object.keys(op.responses).filter((c) => Number(c) >= 400);
      assert.ok(errors.includes('500'), `${name} documents 500`);
      if (op.parameters?.length || op.requestBody) assert.ok(errors.includes('400'), `${name} takes input, documents 400`);
      if (op.security) {
        assert.deepEqual(op.security, [{ adminToken: [] }], `${name} uses the admin bearer token`);
        assert.ok(errors.includes('401') && errors.includes('403'), `${name} documents 401 and 403`);
      }
      for (const code of errors) {
        const response = op.responses[code]!;
        const schema = response.content?.['application/json']?.schema;
        assert.ok(schema, `${name} ${code} has a JSON body`);
        // Readiness answers its own body (which service is down) with 503, by design.
        if (path === '/readyz' && code === '503') continue;
        assert.ok(response.description && response.description !== 'Default Response', `${name} ${code} says what it means`);
        assert.equal(schema.$ref, '#/components/schemas/ErrorBody', `${name} ${code} is the error body`);
      }
    }
    assert.ok(doc.components.schemas.ErrorBody, 'ErrorBody is a named component');
    assert.deepEqual(doc.components.securitySchemes.adminToken, { ...doc.components.securitySchemes.adminToken, type: 'http', scheme: 'bearer' });
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/(.+)"$/.exec(ref)?.[1];
      assert.ok(name && doc.components.schemas[name], `${ref} resolves`);
    }
  });

  test('openapi.errors-answered-are-documented', async () => {
    // Each operation called anonymously with a malformed id and no body or query: whatever it
    // answers must be among its documented responses.
    for (const { method, path, op } of operations()) {
      if (path === '/queue/stream') continue; // an event stream; its 400 is checked by its own tests
      const url = path.replace(/\{\w+\}/g, 'x');
      const res = await app.inject({ method: method as 'GET' | 'POST', url });
      assert.ok(String(res.statusCode) in op.responses, `${method} ${url} answered ${res.statusCode}, documented ${Object.keys(op.responses)}`);
      if (res.statusCode >= 400) assert.ok(res.json().error.code, `${method} ${url} answers the error body`);
    }
  });

  test('openapi.ui-is-served-at-docs', async () => {
    const res = await app.inject('/docs');
    assert.ok([200, 302].includes(res.statusCode), `GET /docs answered ${res.statusCode}`);
    const page = await app.inject('/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger-ui/i);
  });
});
