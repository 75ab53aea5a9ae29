/**
 * Counts the statements a Node process sends to PostgreSQL through `pg`, by their text, and
 * prints the 30 most frequent to stderr when the process exits: a preload for finding the
 * round trips a request makes (docs/PERFORMANCE.md, the send API's single calls), e.g.
 *   DATABASE_URL=postgres://… node --import ./bench/lib/count-pg-queries.mjs --import tsx \
 *     bench/send-api.ts --messages 1 --batch 1 --singles 3000 --warmup-singles 0
 * Parameter lists are collapsed so `in ($1, $2)` of any length counts as one statement.
 * Unlike bench/pg-statements.ts it needs no pg_stat_statements, and counts only this process.
 */
import pg from 'pg';

const counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : (config?.text ?? '');
  const key = text.replace(/\$\d+/g, '$').replace(/\(\$(, \$)*\)/g, '(…)').slice(0, 110);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return query.call(this, config, ...rest);
};
process.on('exit', () => {
  for (const [text, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 30)) process.stderr.write(`${n}\t${text}\n`);
});
