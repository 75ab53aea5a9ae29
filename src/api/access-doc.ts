/**
 * What each role may do, as a Markdown list made from the OpenAPI document's
 * `x-estafeta-access` (the access the auth hook enforces on every route): the README's roles
 * list is this text, printed by `npx tsx scripts/roles.ts`, so it says what the routes say.
 * Not here: deciding access (the routes' config and auth-hook.ts's defaults).
 */

interface Operation {
  summary?: string;
  tags?: string[];
  'x-estafeta-access'?: string;
}

export interface OpenApiPaths {
  paths: Record<string, Record<string, Operation>>;
}

interface Entry {
  method: string;
  path: string;
  what: string;
  tag: string;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A summary's first clause, as a phrase: "Cancel an adaptation: the site..." becomes "cancel an adaptation". */
function phrase(summary: string): string {
  const first = summary.split(/: | \(|\. /)[0].trim();
  return first.charAt(0).toLowerCase() + first.slice(1);
}

const item = (e: Entry) => `${phrase(e.what)} (\`${e.method} ${e.path}\`)`;

function byTag(entries: Entry[]): string[] {
  const tags = [...new Set(entries.map((e) => e.tag))].sort();
  return tags.map((t) => `  - ${t}: ${entries.filter((e) => e.tag === t).map(item).join('; ')}`);
}

export function accessMarkdown(doc: OpenApiPaths): string {
  const entries = new Map<string, Entry[]>();
  for (const [fullPath, ops] of Object.entries(doc.paths)) {
    if (!fullPath.startsWith('/api/v1/')) continue;
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const access = op['x-estafeta-access'] ?? 'admin';
      const list = entries.get(access) ?? [];
      list.push({ method: method.toUpperCase(), path: fullPath.slice('/api/v1'.length), what: op.summary ?? '', tag: op.tags?.[0] ?? 'other' });
      entries.set(access, list);
    }
  }
  for (const list of entries.values()) list.sort((a, b) => a.path.localeCompare(b.path) || METHODS.indexOf(a.method.toLowerCase()) - METHODS.indexOf(b.method.toLowerCase()));
  const of = (access: string) => entries.get(access) ?? [];
  const viewerActs = of('viewer').filter((e) => e.method !== 'GET');
  const adminReads = of('admin').filter((e) => e.method === 'GET');
  const lines = [
    `- Without signing in: ${of('public').map(item).join('; ')}.`,
    `- **viewer**: every read (\`GET\`) under \`/api/v1\` except ${adminReads.map((e) => `\`${e.path}\``).join(' and ')} (admin only); and may ${viewerActs.map(item).join('; ')}.`,
    '- **operator**: what a viewer may, and',
    ...byTag(of('operator')),
    '- **admin**: what an operator may, and',
    ...byTag(of('admin')),
  ];
  return lines.join('\n');
}
