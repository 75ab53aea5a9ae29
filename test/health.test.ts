/**
 * Liveness and readiness, as a load balancer sees them: both answer without credentials;
 * readiness is 200 once the roles started, and 503 with the reason when a migration this
 * version knows is missing from the database or the MTA was drained.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestEstafeta } from './helpers/estafeta.ts';

test('health/live and health/ready answer without credentials; ready says why it is not', { timeout: 60_000 }, async () => {
  const e = await startTestEstafeta();
  try {
    const anonymous = e.as(null);
    assert.deepEqual(await anonymous('GET', '/health/live'), { status: 200, body: { live: true } });
    const ready = await anonymous('GET', '/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true, reason: null, roles: e.app.config.roles, draining: false });

    // A database missing a migration (restored from an older backup, say) is not ready.
    const last = (await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(e.app.db.kysely)).rows[0].name;
    await sql`delete from kysely_migration where name = ${last}`.execute(e.app.db.kysely);
    const missing = await anonymous('GET', '/health/ready');
    assert.equal(missing.status, 503);
    assert.match(missing.body.reason, new RegExp(`migrations not applied: ${last}`));
    await sql`insert into kysely_migration (name, timestamp) values (${last}, ${new Date().toISOString()})`.execute(e.app.db.kysely);
    assert.equal((await anonymous('GET', '/health/ready')).status, 200);

    // Drained: still live, no longer ready.
    const drained = await e.api('POST', '/mta/drain', {});
    assert.equal(drained.status, 200);
    assert.deepEqual({ finished: drained.body.finished, handedBack: drained.body.handedBack, unfinished: drained.body.unfinished }, { finished: 0, handedBack: 0, unfinished: 0 });
    const after = await anonymous('GET', '/health/ready');
    assert.equal(after.status, 503);
    assert.equal(after.body.draining, true);
    assert.match(after.body.reason, /draining/);
    assert.equal((await anonymous('GET', '/health/live')).status, 200);
  } finally {
    await e.stop();
  }
});

test('mta drain in a process without the MTA role is refused with the reason', { timeout: 60_000 }, async () => {
  const e = await startTestEstafeta({ roles: ['api'] });
  try {
    const r = await e.api('POST', '/mta/drain', {});
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /runs no MTA role/);
    assert.equal((await e.as(null)('GET', '/health/ready')).status, 200);
  } finally {
    await e.stop();
  }
});
