import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decryptSecret, parseEncryptionKey } from './crypto.ts';

/**
 * The encryption keys of a deployment: the current one encrypts, every one decrypts. Built once
 * per process from the config (`keyringFrom`), so the keys are parsed in one place.
 */
export interface Keyring {
  readonly currentVersion: number;
  readonly keys: ReadonlyMap<number, Buffer>;
}

/** Every column that holds an encrypted value: a ciphertext is bound to one of them. */
export const SECRET_COLUMNS = {
  calcomApiKey: 'companies.calcom_api_key_encrypted',
  calcomWebhookSecret: 'companies.calcom_webhook_secret_encrypted',
  retiredWebhookSecret: 'retired_webhook_secrets.secret_encrypted',
  outboundSecret: 'outbound_endpoints.secret_encrypted',
  outboundPreviousSecret: 'outbound_endpoints.previous_secret_encrypted',
} as const;

export type SecretColumn = (typeof SECRET_COLUMNS)[keyof typeof SECRET_COLUMNS];

/** Where a ciphertext belongs: moved to another company or column it no longer decrypts. */
export interface SecretBinding {
  companyId: string;
  column: SecretColumn;
}

/**
 * A keyring from the config's key strings (64 hex characters or base64 of 32 bytes).
 * @throws Error naming the version whose key has the wrong shape (never the key).
 */
export function keyringFrom(settings: {
  currentVersion: number;
  keys: ReadonlyArray<{ version: number; key: string }>;
}): Keyring {
  const keys = new Map<number, Buffer>();
  for (const { version, key } of settings.keys) {
    try {
      keys.set(version, parseEncryptionKey(key));
    } catch {
      throw new Error(`encryption key version ${version} must be 32 bytes as 64 hex characters or base64`);
    }
  }
  if (!keys.has(settings.currentVersion)) {
    throw new Error(`encryption key version ${settings.currentVersion} is current but has no key`);
  }
  return { currentVersion: settings.currentVersion, keys };
}

/** A keyring of one key (version 1, as SECRETS_ENCRYPTION_KEY alone gives): for tests and seeds. */
export function singleKeyring(key: Buffer, version = 1): Keyring {
  return { currentVersion: version, keys: new Map([[version, key]]) };
}

const FORMAT = 'v2';

// The additional authenticated data: the tag covers where the value belongs and which key
// version encrypted it, so a value copied to another company, column or version fails.
function aad(version: number, binding: SecretBinding): Buffer {
  return Buffer.from(`calgate:${FORMAT}:${version}:${binding.companyId}:${binding.column}`, 'utf8');
}

/**
 * AES-256-GCM under the current key, bound to (company, column):
 * `v2.<key version>.<iv>.<tag>.<ciphertext>` (binary parts base64url).
 */
export function sealSecret(plain: string, keyring: Keyring, binding: SecretBinding): string {
  const version = keyring.currentVersion;
  const key = keyring.keys.get(version) as Buffer;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(version, binding));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [
    FORMAT,
    String(version),
    ...[iv, cipher.getAuthTag(), ciphertext].map((p) => p.toString('base64url')),
  ].join('.');
}

/**
 * Decrypts a `v2` value bound to `binding`, or an old `v1` value (unbound, written before key
 * versions: tried under every key of the ring).
 * @throws Error when the value was tampered with, belongs elsewhere, or its key is not in the ring.
 */
export function openSecret(stored: string, keyring: Keyring, binding: SecretBinding): string {
  if (stored.startsWith('v1.')) {
    for (const key of keyring.keys.values()) {
      try {
        return decryptSecret(stored, key);
      } catch {}
    }
    throw new Error('stored secret cannot be decrypted: no key of the keyring opens it');
  }
  const [format, versionText, iv, tag, ciphertext, extra] = stored.split('.');
  const version = Number(versionText);
  if (
    format !== FORMAT ||
    !Number.isInteger(version) ||
    iv === undefined ||
    tag === undefined ||
    ciphertext === undefined ||
    extra !== undefined
  ) {
    throw new Error('stored secret has an unknown format');
  }
  const key = keyring.keys.get(version);
  if (key === undefined) {
    throw new Error(`stored secret is encrypted under key version ${version}, which is not configured`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(aad(version, binding));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new Error(
      'stored secret cannot be decrypted: tampered, or it belongs to another company or column',
    );
  }
}

/** Whether a stored value is in an old format or under a key other than the current one. */
export function needsReseal(stored: string, keyring: Keyring): boolean {
  return !stored.startsWith(`${FORMAT}.${keyring.currentVersion}.`);
}
