/**
 * Checks answers against the server's own OpenAPI document (GET /v1/openapi.json): the status must be
 * documented for the operation, the content type must be one the document names for it, and a JSON
 * body must match its schema (JSON Schema 2020-12, Ajv). The HTTP test helper (server.ts) runs every
 * answer of the integration suite through it, so the document cannot drift from the server unseen.
 *
 * Checked: the native API (`/v1/…`) and `/healthz`, `/readyz`, `/metrics`. Not checked: HEAD and
 * OPTIONS answers (HTTP defines them for every path), and the compatibility surfaces, whose wire
 * formats are the products' own (docs/compatibility.md) and are not in the document.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { openApiDocument } from '../../src/http/openapi.js';

type Obj = Record<string, any>;

const CHECKED = /^\/(v1\/|healthz$|readyz$|metrics$)/;
/** Paths of the document as patterns, the literal ones first (`/v1/runs/stream` before `/v1/runs/{id}`). */
interface PathPattern { template: string; re: RegExp; params: number }

export class ApiDocument {
  private readonly doc: Obj;
  private readonly ajv: Ajv2020;
  private readonly patterns: PathPattern[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(doc: Obj = openApiDocument('http://127.0.0.1') as Obj) {
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    (addFormats as unknown as (a: Ajv2020) => void)(this.ajv);
    for (const k of ['example', 'examples', 'xml', 'externalDocs', 'discriminator']) this.ajv.removeKeyword(k).addKeyword(k);
    this.ajv.addSchema({ ...doc, $id: 'openapi' });
    this.patterns = Object.keys(doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
      params: (template.match(/\{/g) ?? []).length,
    })).sort((a, b) => a.params - b.params);
  }

  private deref(node: Obj): Obj {
    let n = node;
    for (let i = 0; n && typeof n.$ref === 'string' && i < 10; i++) {
      n = n.$ref.slice(2).split('/').reduce((o: Obj, k: string) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], this.doc);
    }
    return n;
  }

  /** The problems of one answer (empty: it agrees with the document). */
  check(method: string, url: string, status: number, contentType: string | null, body: string): string[] {
    const m = method.toLowerCase();
    if (m === 'head' || m === 'options') return [];
    const path = new URL(url, 'http://x').pathname;
    if (!CHECKED.test(path)) return [];
    const at = `${method} ${path} → ${status}`;
    const pattern = this.patterns.find((p) => p.re.test(path));
    // A 404 or 405 for a path or method that does not exist is the router's, documented once for all.
    if (!pattern || !this.doc.paths[pattern.template][m]) return status === 404 || status === 405 ? [] : [`${at}: the document has no ${method} ${path}`];
    const op = this.doc.paths[pattern.template][m] as Obj;
    const responses = op.responses as Obj;
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!declared) return [`${at}: status ${status} is not documented for ${method} ${pattern.template} (documented: ${Object.keys(responses).join(', ')})`];
    const response = this.deref(declared);
    const content = response.content as Obj | undefined;
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!content) return body.length > 0 ? [`${at}: the document gives no body, the answer has ${type || 'one'}`] : [];
    if (body.length === 0 && (status === 204 || status === 304)) return [];
    const mediaKey = Object.keys(content).find((k) => k === type || (k.endsWith('/*') && type.startsWith(k.slice(0, -1))) || k === '*/*');
    if (!mediaKey) return [`${at}: content type ${type || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`];
    const schema = content[mediaKey]?.schema as Obj | undefined;
    if (!schema || !/json/.test(type)) return [];
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${at}: the body is not JSON`];
    }
    const key = `${pattern.template} ${m} ${status} ${mediaKey}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const pointer = `openapi#/paths/${pattern.template.replace(/~/g, '~0').replace(/\//g, '~1')}/${m}/responses/${responses[String(status)] ? status : responses[`${String(status)[0]}XX`] ? `${String(status)[0]}XX` : 'default'}`;
      // A response given by $ref is validated through the component it names.
      const base = typeof declared.$ref === 'string' ? `openapi${declared.$ref}` : pointer;
      validate = this.ajv.compile({ $ref: `${base}/content/${mediaKey.replace(/~/g, '~0').replace(/\//g, '~1')}/schema` });
      this.validators.set(key, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).slice(0, 5).map((e) => `${at}: body${e.instancePath || ''} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }
}
