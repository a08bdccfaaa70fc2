/** Everything route modules may use; assembled by the app's composition root. */
import type { SecretBox } from '../core/secretbox.js';
import type { Engine } from '../engine/engine.js';
import type { WebhookSecrets } from '../engine/webhook-secrets.js';
import type { Logger } from '../engine/executor.js';
import type { SecretsPort } from '../engine/executor-types.js';
import type { Store } from '../store/types.js';
import type { Intake } from '../triggers/intake.js';
import type { Authenticator } from './auth.js';
import type { Metrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { SseSettings } from './sse.js';

export interface RouteDeps {
  store: Store;
  engine: Engine;
  intake: Intake;
  auth: Authenticator;
  secretBox: SecretBox;
  metrics: Metrics;
  log: Logger;
  supportedStepTypes: ReadonlySet<string>;
  /** True once the store is open, migrated and recovery is done. */
  isReady: () => boolean;
  /** True while the store refuses writes for lack of space (the server is then not ready either). */
  storageFull: () => boolean;
  /** Retry-After (seconds) handed to callers told to poll. */
  retryAfterSeconds: number;
  /** The tenants' secrets, decrypted (briefly cached; the same values `$secrets` reads). */
  secrets: SecretsPort;
  /** Called after the secrets of a tenant changed. */
  onSecretsChanged: (tenant: string) => void;
  clock: () => number;
  /** The tenants' Standard Webhooks secrets that sign result deliveries. */
  webhookSecrets: WebhookSecrets;
  /** Per-key and per-workflow rate limits; the compatibility surfaces check it themselves (their routes are public). */
  rateLimiter: RateLimiter;
  /** Event streams: heartbeat, the slow-reader bound, and the shutdown that ends them. */
  sse: SseSettings;
  /** Open `GET /v1/runs/stream` streams one tenant may hold (FLOWGATE_RUN_STREAMS_PER_TENANT). */
  runStreamsPerTenant: number;
}
