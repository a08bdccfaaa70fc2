/**
 * A workflow's entity tag (`ETag` on GET and PUT /v1/workflows/{id}; `If-Match` / `If-None-Match`
 * on PUT). It names the workflow's head as it is: the current version and everything else the
 * workflow's answer shows of the head (archived, conv_id, direct-URL hash, GUID, last change), so
 * it changes with a new version, an archive, a rotated hash or moved identifiers, and two editors
 * cannot overwrite each other unseen. A strong tag: `"<version>-<16 hex digits>"`.
 */
import { createHash } from 'node:crypto';
import type { Workflow } from './types.js';

export type EtagParts = Pick<Workflow, 'version' | 'archived' | 'conv_id' | 'hash' | 'guid' | 'updated_at'>;

export function workflowEtag(w: EtagParts): string {
  const digest = createHash('sha256').update(JSON.stringify([w.version, w.archived, w.conv_id, w.hash, w.guid, w.updated_at])).digest('hex');
  return `"${w.version}-${digest.slice(0, 16)}"`;
}
