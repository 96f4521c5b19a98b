/**
 * How a command speaks. For a person: lines of text on stdout. With `--json`, for a script: one
 * JSON document on stdout, `{"ok", "records", "lines"}`: the structured results, the text a person
 * would have read, and `"error"` when it failed. Log lines never go to stdout: the CLI's logger
 * writes to stderr.
 */
export interface Output {
  readonly json: boolean;
  /** A line for a person; left out of the JSON document. */
  out(line: string): void;
  /** One structured result (a job, a company, an appointment) for scripts; people get `out` lines. */
  record(value: Record<string, unknown>): void;
  /** Ends the command: with --json writes the document. */
  finish(result: { ok: boolean; error?: string }): void;
}

export function createOutput(options: { json: boolean; write?: (text: string) => void }): Output {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const lines: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  return {
    json: options.json,
    out(line) {
      if (options.json) lines.push(line);
      else write(`${line}\n`);
    },
    record(value) {
      if (options.json) records.push(value);
    },
    finish({ ok, error }) {
      if (!options.json) return;
      write(`${JSON.stringify({ ok, records, lines, ...(error === undefined ? {} : { error }) })}\n`);
    },
  };
}
