/**
 * What `estafeta start` prints once it runs: where the dashboard and the API are, and which
 * database this process uses (the SQLite file's full path, or the PostgreSQL host, port,
 * database and user: never the password). The log says the same in JSON for machines.
 */
import { resolve } from 'node:path';
import { parseDatabaseUrl } from '../db/database-url.ts';

/** The database of a URL in words, without its password. */
export function databaseInWords(url: string): string {
  const target = parseDatabaseUrl(url);
  if (target.dialect === 'sqlite') {
    if (target.file === ':memory:') return 'SQLite in memory (gone when Estafeta stops)';
    return `SQLite file ${resolve(target.file)}`;
  }
  const user = decodeURIComponent(new URL(target.url).username);
  return `PostgreSQL database ${target.database} on ${target.host}:${target.port}${user ? ` (user ${user})` : ''}`;
}

export interface BannerListeners {
  /** The bounce listener (inbound role). */
  bounces?: { host: string; port: number } | null;
  /** SMTP submission (submission role). */
  submission?: { host: string; port: number } | null;
}

export function startBanner(o: { url: string | null; databaseUrl: string; roles: readonly string[] } & BannerListeners): string {
  const lines = [`Estafeta is running (${o.roles.join(', ')}).`];
  if (o.url) {
    lines.push(`  Dashboard  ${o.url}/`);
    lines.push(`  API        ${o.url}/api/v1 (docs ${o.url}/api/docs)`);
  }
  if (o.submission) lines.push(`  SMTP       ${o.submission.host}:${o.submission.port} for applications (STARTTLS, then AUTH with a stream's SMTP credentials)`);
  if (o.bounces) lines.push(`  Bounces    ${o.bounces.host}:${o.bounces.port} (bounce and complaint mail)`);
  lines.push(`  Database   ${databaseInWords(o.databaseUrl)}`);
  lines.push('Press Ctrl-C to stop.');
  return lines.join('\n') + '\n';
}
