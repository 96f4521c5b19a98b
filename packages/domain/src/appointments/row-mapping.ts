import { getTableColumns, type Table } from 'drizzle-orm';

/** A table's columns as drizzle knows them: the database name and how a value read is decoded. */
export type Columns = Record<string, { name: string; mapFromDriverValue(value: unknown): unknown }>;

export const columnsOf = (table: Table) => getTableColumns(table) as unknown as Columns;

/**
 * A table's columns for a hand-written select, each named `<alias>.<column>` so that the columns of
 * several tables never collide (read back with {@link mapRow}).
 */
export const selectList = (alias: string, columns: Columns): string[] =>
  Object.values(columns).map((c) => `${alias}."${c.name}" as "${alias}.${c.name}"`);

/**
 * One table's part of a row read with {@link selectList}, as drizzle's query builder would map it
 * (each column's type decodes its value).
 */
export function mapRow(
  row: Record<string, unknown>,
  alias: string,
  columns: Columns,
): Record<string, unknown> {
  const mapped: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(columns)) {
    const value = row[`${alias}.${column.name}`];
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return mapped;
}
