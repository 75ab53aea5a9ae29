/**
 * A statement that Kysely builds once and that then runs many times with new values: for
 * the hot single-row statements run thousands of times a second (a log's new state), where
 * building and compiling the query each time costs more than SQLite takes to run it. The
 * values are given in the order of the compiled statement's parameters; that order is
 * checked once per dialect against a sample of distinct values, so a builder whose
 * parameters come out in another order fails loudly instead of writing to the wrong column.
 * Not for statements whose shape changes with the values (lists of ids).
 */
import { CompiledQuery, type Compilable } from 'kysely';
import type { Q } from './connect.ts';

export class ReusableStatement<V extends readonly unknown[]> {
  /** The SQL text per dialect adapter (a process may hold SQLite and PostgreSQL at once). */
  private readonly sqlByAdapter = new WeakMap<object, string>();

  /**
   * @param build the query, with the values in the places they fill
   * @param sample distinct values, in the order `run` gives them, for the one-time check
   */
  constructor(
    private readonly build: (q: Q, values: V) => Compilable<unknown>,
    private readonly sample: V,
  ) {}

  async run(q: Q, values: V): Promise<void> {
    await q.executeQuery(CompiledQuery.raw(this.sqlFor(q), values as unknown as unknown[]));
  }

  private sqlFor(q: Q): string {
    const adapter = q.getExecutor().adapter;
    let text = this.sqlByAdapter.get(adapter);
    if (text === undefined) {
      const compiled = this.build(q, this.sample).compile();
      const same = compiled.parameters.length === this.sample.length && compiled.parameters.every((p, i) => p === this.sample[i]);
      if (!same) throw new Error(`reusable statement: its parameters come out as ${JSON.stringify(compiled.parameters)}, not in the order given ${JSON.stringify(this.sample)}`);
      text = compiled.sql;
      this.sqlByAdapter.set(adapter, text);
    }
    return text;
  }
}
