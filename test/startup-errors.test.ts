/**
 * What a person sees when `estafeta start` cannot start: one sentence on the console that
 * says what is wrong and which setting to change, no stack trace, and, for a busy port, no
 * admin user created and no password printed (issue 15).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { withDatabase } from './helpers/child.ts';
import { countUsers } from '../src/auth/index.ts';

const CLI = resolve('src/cli/main.ts');

function start(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; ms: number }> {
  const began = Date.now();
  // From another folder: name tsx's loader by its full URL.
  const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'start', ...args], {
    cwd,
    env: { ...process.env, DATABASE_URL: '', ESTAFETA_ADMIN_PASSWORD: '', ESTAFETA_LOG_LEVEL: 'warn', ESTAFETA_BOUNCE_PORT: '0', ESTAFETA_SUBMISSION_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), 40_000);
  return new Promise((done) => p.once('exit', (code) => {
    clearTimeout(timer);
    done({ code, stderr: out, ms: Date.now() - began });
  }));
}

async function occupied(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

const noStack = (text: string) => assert.ok(!/\n\s+at .+:\d+:\d+/.test(text), `no stack trace:\n${text}`);

test('a busy HTTP or bounce port is named with its setting, and nothing is created', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-ports-'));
  const { server, port } = await occupied();
  try {
    const file = join(dir, 'http.db');
    const http = await start(['--database', `sqlite:${file}`, '--port', String(port)], dir);
    assert.equal(http.code, 1, http.stderr);
    assert.match(http.stderr, new RegExp(`estafeta: Port ${port} on 127\\.0\\.0\\.1, for the HTTP API, is already in use: another Estafeta may be running \\(stop it\\), or choose another port with http\\.port`));
    assert.ok(!/password/i.test(http.stderr), `no password printed:\n${http.stderr}`);
    noStack(http.stderr);
    assert.equal(await withDatabase(`sqlite:${file}`, (q) => countUsers(q)), 0, 'no user created');

    const bounce = await start(['--database', `sqlite:${join(dir, 'bounce.db')}`, '--port', '0'], dir, { ESTAFETA_BOUNCE_PORT: String(port) });
    assert.equal(bounce.code, 1, bounce.stderr);
    assert.match(bounce.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1, for the bounce listener, is already in use: .*bounces\\.listen\\.port, ESTAFETA_BOUNCE_PORT`));
    noStack(bounce.stderr);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database URL that is neither sqlite:PATH nor postgres:// is refused, naming DATABASE_URL; nothing is created', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-dburl-'));
  try {
    for (const url of ['mysql://root@127.0.0.1/x', 'not a url', './data/plain-path.db', 'sqlite:']) {
      const r = await start(['--port', '0'], dir, { DATABASE_URL: url });
      assert.equal(r.code, 1, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /estafeta: DATABASE_URL \(database\.url in the configuration file, or --database\) .*; it must be sqlite:PATH \(for example sqlite:\.\/data\/estafeta\.db\) or postgres:\/\//, url);
      noStack(r.stderr);
    }
    assert.deepEqual(readdirSync(dir), [], 'no file or folder made (a "mysql:" folder once was)');
    assert.ok(!existsSync(join(dir, 'mysql:')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreachable PostgreSQL is waited for a few seconds, then named by host and port', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-pg-'));
  try {
    const r = await start(['--port', '0'], dir, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /does not answer yet/);
    assert.match(r.stderr, /estafeta: Cannot reach the PostgreSQL database x at 127\.0\.0\.1:1: .*change DATABASE_URL/);
    noStack(r.stderr.replace(/^\{.*\}$/gm, ''));
    assert.ok(r.ms < 30_000, `gave up after ${r.ms} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a start that works says where the dashboard, the API and the database are', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-banner-'));
  const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'start', '--port', '0', '--database', 'sqlite:./banner.db'], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: '', ESTAFETA_ADMIN_PASSWORD: 'banner-test-password', ESTAFETA_LOG_LEVEL: 'warn', ESTAFETA_BOUNCE_PORT: '0', ESTAFETA_SUBMISSION_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => p.once('exit', done));
  try {
    const until = Date.now() + 40_000;
    while (!out.includes('Press Ctrl-C') && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /Dashboard  http:\/\/127\.0\.0\.1:\d+\/\n/, out);
    assert.match(out, /API        http:\/\/127\.0\.0\.1:\d+\/api\/v1 \(docs /);
    assert.match(out, new RegExp(`Database   SQLite file ${join(dir, 'banner.db').replace(/[.]/g, '\\.')}`));
  } finally {
    p.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
