/**
 * Each tenant's Standard Webhooks secret for result deliveries (docs/spec.md §8.13): `whsec_` + base64 of
 * 32 random bytes, made on first use (a tenant's first GET /v1/webhook-secret or first delivery),
 * stored sealed. A rotation keeps the replaced secret for a grace period during which deliveries
 * carry a signature with each (Standard Webhooks allows several in `webhook-signature`), so a
 * receiver can switch over without dropping a delivery.
 */
import { randomBytes } from 'node:crypto';
import type { Store, WebhookSecretRecord } from '../store/types.js';

/** How long after a rotation the previous secret still signs deliveries. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

/** Seals and opens secrets at rest (core/secretbox.ts). */
export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export interface WebhookSecretView {
  secret: string;
  created_at: number;
  rotated_at: number | null;
  /** Until when deliveries are also signed with the secret the last rotation replaced, or null. */
  previous_valid_until: number | null;
}

/** What the delivery loop needs: the secrets to sign a tenant's deliveries with, current first. */
export interface WebhookSecretsPort {
  signingSecrets(tenant: string): Promise<string[]>;
}

export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export class WebhookSecrets implements WebhookSecretsPort {
  constructor(private readonly store: Store, private readonly box: Sealer, private readonly clock: () => number) {}

  /** The tenant's secret, made now if it has none. */
  async current(tenant: string): Promise<WebhookSecretView> {
    return this.view(await this.record(tenant));
  }

  async rotate(tenant: string): Promise<WebhookSecretView> {
    return this.view(await this.store.rotateWebhookSecret(tenant, this.box.seal(newWebhookSecret()), this.clock()));
  }

  async signingSecrets(tenant: string): Promise<string[]> {
    const rec = await this.record(tenant);
    const out = [this.box.open(rec.secret_ciphertext)];
    const until = this.previousUntil(rec);
    if (until !== null && this.clock() < until && rec.previous_ciphertext) out.push(this.box.open(rec.previous_ciphertext));
    return out;
  }

  private async record(tenant: string): Promise<WebhookSecretRecord> {
    return (await this.store.getWebhookSecret(tenant)) ?? this.store.ensureWebhookSecret(tenant, this.box.seal(newWebhookSecret()), this.clock());
  }

  private previousUntil(rec: WebhookSecretRecord): number | null {
    return rec.previous_ciphertext && rec.rotated_at !== null ? rec.rotated_at + PREVIOUS_SECRET_GRACE_MS : null;
  }

  private view(rec: WebhookSecretRecord): WebhookSecretView {
    const until = this.previousUntil(rec);
    return {
      secret: this.box.open(rec.secret_ciphertext), created_at: rec.created_at, rotated_at: rec.rotated_at,
      previous_valid_until: until !== null && until > this.clock() ? until : null,
    };
  }
}
