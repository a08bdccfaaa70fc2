/** Applies the workflow files of a directory to a tenant, the same way `PUT /v1/workflows/{id}` does. */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseDocument, validateDefinition } from '../core/definition.js';
import { uuidv4 } from '../core/ids.js';
import type { Logger } from '../engine/executor.js';
import { newHash } from '../http/routes/workflows.js';
import type { Store } from '../store/types.js';

export async function applyExamples(store: Store, dir: string, tenant: string, supportedStepTypes: ReadonlySet<string>, log: Logger): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f))).sort();
  } catch {
    return 0;
  }
  let applied = 0;
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    const parsed = parseDocument(source, extname(file) === '.json' ? 'application/json' : 'application/yaml');
    const checked = parsed.ok ? validateDefinition(parsed.doc, { supportedStepTypes }) : null;
    if (!checked || !checked.ok) {
      log.warn({ file, problems: parsed.ok ? (checked as { problems: unknown }).problems : parsed.problems }, 'example workflow is invalid; skipped');
      continue;
    }
    const saved = await store.saveWorkflow(tenant, checked.definition, source, { hash: newHash(), guid: uuidv4() }, Date.now());
    if (saved.created) log.info({ workflow: saved.workflow.id, version: saved.workflow.version }, 'example workflow applied');
    applied++;
  }
  return applied;
}
