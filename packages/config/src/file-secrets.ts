import { readFileSync } from 'node:fs';

/**
 * For each of our variables, `NAME_FILE=/run/secrets/name` stands for `NAME=<that file's content>` (trailing newline dropped),
 * as Docker and Kubernetes secrets are mounted. Setting both is a mistake, reported by name; an
 * unreadable file is reported by the variable's name, never by its content.
 */
export function resolveFileSecrets(
  source: NodeJS.ProcessEnv,
  known: ReadonlySet<string>,
): {
  env: NodeJS.ProcessEnv;
  problems: string[];
} {
  const env: NodeJS.ProcessEnv = { ...source };
  const problems: string[] = [];
  for (const [name, path] of Object.entries(source)) {
    if (!name.endsWith('_FILE') || path === undefined || path === '') continue;
    const target = name.slice(0, -'_FILE'.length);
    // Only our own variables: others (SSL_CERT_FILE, ...) belong to other programs.
    if (!known.has(target)) continue;
    if (source[target] !== undefined && source[target] !== '') {
      problems.push(`${target} and ${name} are both set; set one of them`);
      continue;
    }
    try {
      env[target] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch {
      problems.push(`${name}: cannot read the file it names`);
    }
    delete env[name];
  }
  return { env, problems };
}
