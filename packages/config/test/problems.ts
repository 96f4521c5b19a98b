import { ConfigError, loadConfig } from '../src/index.ts';

/** The problems `loadConfig` reports for `env`; fails when it accepts it. */
export function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
