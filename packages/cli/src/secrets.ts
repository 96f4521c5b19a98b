import { resealSecrets } from '@calgate/db';
import type { OperationsContext } from './operations.ts';

/**
 * `secrets:reencrypt`: every stored secret under the current key, bound to its company and
 * column. Safe while API and worker run (see `resealSecrets`).
 * @returns how many values no configured key opens (the command fails when there are any).
 */
export async function reencryptSecrets(
  context: OperationsContext,
  batch: string | undefined,
): Promise<number> {
  if (batch !== undefined && !/^[1-9][0-9]{0,4}$/.test(batch)) {
    throw new Error('--batch must be a number of rows from 1 to 99999');
  }
  const keyring = context.runtime.keyring;
  const results = await resealSecrets(context.runtime.db, keyring, {
    ...(batch === undefined ? {} : { batchSize: Number(batch) }),
  });
  let unreadable = 0;
  for (const result of results) {
    unreadable += result.unreadable;
    context.record?.({ ...result });
    context.out(
      `${result.column}: ${result.resealed} re-encrypted, ${result.changedMeanwhile} changed meanwhile (kept), ${result.unreadable} unreadable`,
    );
  }
  context.out(
    unreadable === 0
      ? `every stored secret is under key version ${keyring.currentVersion}`
      : `${unreadable} value(s) no configured key opens: add the key that wrote them to SECRETS_ENCRYPTION_KEYS and run again`,
  );
  return unreadable;
}
