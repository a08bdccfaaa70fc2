/**
 * Encryption at rest for tenant secrets: AES-256-GCM with a random 96-bit nonce per value.
 * Ciphertext format: `v1.<nonce b64url>.<tag b64url>.<data b64url>`. The master key never leaves
 * this object; the store only ever sees ciphertext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class SecretBox {
  private readonly key: Buffer;

  /** `masterKey`: 32 bytes as base64/base64url/hex, or any passphrase (hashed with SHA-256). */
  constructor(masterKey: string) {
    this.key = SecretBox.keyBytes(masterKey);
  }

  static keyBytes(masterKey: string): Buffer {
    const trimmed = masterKey.trim();
    if (/^[0-9a-f]{64}$/i.test(trimmed)) return Buffer.from(trimmed, 'hex');
    const b64 = Buffer.from(trimmed, 'base64');
    if (b64.length === 32 && /^[A-Za-z0-9+/_=-]{43,44}$/.test(trimmed)) return b64;
    return createHash('sha256').update(trimmed, 'utf8').digest();
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64url');
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${nonce.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${data.toString('base64url')}`;
  }

  /** Throws when the ciphertext was altered or sealed with another key. */
  open(sealed: string): string {
    const [v, nonce, tag, data] = sealed.split('.');
    if (v !== 'v1' || !nonce || !tag || data === undefined) throw new Error('unknown secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
