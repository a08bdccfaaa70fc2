/** The tenant's settings an admin manages: API keys, write-only secrets, Corezoid API logins, the webhook signing secret. */
import { api } from './client.js';
import type { Page, Role } from './types.js';

export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  tenant: string;
  created_at: string;
}
/** A new key: the only answer that carries its token. */
export interface CreatedKey extends ApiKeyView {
  token: string;
}

export interface SecretView {
  name: string;
  created_at: string;
  updated_at: string;
}

export interface ApiLoginView {
  login: string;
  name: string | null;
  tenant: string;
  created_at: string;
}
/** A new API login: the only answer that carries its secret. */
export interface CreatedApiLogin extends ApiLoginView {
  secret: string;
}

export interface WebhookSecret {
  secret: string;
  created_at: string | null;
  rotated_at: string | null;
  previous_valid_until: string | null;
}

const seg = encodeURIComponent;

export const listKeys = async (): Promise<ApiKeyView[]> => (await api<Page<ApiKeyView>>('/v1/keys')).items;
export const createKey = (name: string, role: Role): Promise<CreatedKey> => api<CreatedKey>('/v1/keys', { method: 'POST', json: { name, role } });
export const revokeKey = (id: string): Promise<void> => api<void>(`/v1/keys/${seg(id)}`, { method: 'DELETE' });

export const listSecrets = async (): Promise<SecretView[]> => (await api<Page<SecretView>>('/v1/secrets')).items;
/** Sets or replaces a secret; the value goes in and never comes back. */
export const putSecret = (name: string, value: string): Promise<{ name: string; created: boolean }> =>
  api(`/v1/secrets/${seg(name)}`, { method: 'PUT', json: { value } });
export const deleteSecret = (name: string): Promise<void> => api<void>(`/v1/secrets/${seg(name)}`, { method: 'DELETE' });

export const listApiLogins = async (): Promise<ApiLoginView[]> => (await api<Page<ApiLoginView>>('/v1/api-logins')).items;
export const createApiLogin = (name: string | undefined): Promise<CreatedApiLogin> =>
  api<CreatedApiLogin>('/v1/api-logins', { method: 'POST', json: name ? { name } : {} });
export const deleteApiLogin = (login: string): Promise<void> => api<void>(`/v1/api-logins/${seg(login)}`, { method: 'DELETE' });

export const getWebhookSecret = (): Promise<WebhookSecret> => api<WebhookSecret>('/v1/webhook-secret');
export const rotateWebhookSecret = (): Promise<WebhookSecret> => api<WebhookSecret>('/v1/webhook-secret', { method: 'POST' });
