/**
 * Stored templates of the send API: a name, a subject, HTML and/or text written in the same
 * personalization syntax as a delivery's content (liquid, deliveries/template.ts: the same
 * parser, the same escaping of HTML output, the same required fields). Created, listed,
 * read, replaced and deleted here, the only writer of `message_templates`; a message that
 * names one with `template` and `data` is rendered here before it is checked and sent. A
 * field the template requires (printed without a `default` filter, outside a condition)
 * that `data` lacks fails the message with the names of the missing fields: no message goes
 * out with a hole. Compiled templates are kept per id and version.
 */
import type { Selectable } from 'kysely';
import type { MessageTemplatesTable, Q } from '../db/index.ts';
import { compileTemplate, missingFields, type CompiledTemplate } from '../deliveries/index.ts';
import { EstafetaError, invalidInput, notFound } from '../lib/errors.ts';
import { SEND_LIMITS } from './limits.ts';
import type { MessageInput } from './message-input.ts';

export interface TemplateInput {
  name: string;
  subject: string;
  html?: string | null;
  text?: string | null;
}

export interface TemplateView {
  id: number;
  name: string;
  subject: string;
  html: string | null;
  text: string | null;
  version: number;
  /** Fields a message's data must have (dotted paths), from the three parts together. */
  requiredFields: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** A message refused because its data lacks fields its template requires. */
export const MISSING_FIELDS = 'MISSING_FIELDS';

interface Compiled {
  subject: CompiledTemplate;
  html: CompiledTemplate | null;
  text: CompiledTemplate | null;
  required: string[];
}

const NAME = /^[\w.@-]{1,200}$/;
const cache = new Map<string, Compiled>();

function compile(t: { subject: string; html: string | null; text: string | null }): Compiled {
  const subject = compileTemplate('subject', t.subject);
  const html = t.html ? compileTemplate('html', t.html) : null;
  const text = t.text ? compileTemplate('text', t.text) : null;
  const required = [...new Set([subject, html, text].flatMap((p) => (p ? p.required.map((r) => r.join('.')) : [])))];
  return { subject, html, text, required };
}

function compiledOf(row: Selectable<MessageTemplatesTable>): Compiled {
  const key = `${row.id}:${row.version}`;
  let c = cache.get(key);
  if (!c) {
    c = compile(row);
    if (cache.size > 500) cache.clear();
    cache.set(key, c);
  }
  return c;
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();
const view = (r: Selectable<MessageTemplatesTable>): TemplateView => ({
  id: Number(r.id), name: r.name, subject: r.subject, html: r.html, text: r.text, version: r.version, requiredFields: compiledOf(r).required, createdBy: r.created_by, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
});

function checked(input: TemplateInput): { name: string; subject: string; html: string | null; text: string | null } {
  const name = input.name.trim();
  if (!NAME.test(name)) throw invalidInput(`template name "${input.name.slice(0, 60)}": use 1 to 200 letters, digits, dots, dashes, underscores or @`);
  if (/^\d+$/.test(name)) throw invalidInput(`template name "${name}": a name of digits only would read as an id`);
  const html = input.html?.length ? input.html : null;
  const text = input.text?.length ? input.text : null;
  if (!html && !text) throw invalidInput('give html, text, or both');
  const size = input.subject.length + (html?.length ?? 0) + (text?.length ?? 0);
  if (size > SEND_LIMITS.messageChars) throw invalidInput(`the template has ${size} characters; the limit is ${SEND_LIMITS.messageChars}`);
  // A syntax error is refused now, naming the part, rather than at the first message.
  compile({ subject: input.subject, html, text });
  return { name, subject: input.subject, html, text };
}

export async function createTemplate(q: Q, input: TemplateInput, createdBy: string): Promise<TemplateView> {
  const t = checked(input);
  const now = Date.now();
  const row = await q
    .insertInto('message_templates')
    .values({ ...t, version: 1, created_by: createdBy, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new EstafetaError('CONFLICT', `a template named "${t.name}" already exists`);
  return view(row);
}

export async function listTemplates(q: Q): Promise<TemplateView[]> {
  return (await q.selectFrom('message_templates').selectAll().orderBy('name').execute()).map(view);
}

async function templateRow(q: Q, ref: string | number): Promise<Selectable<MessageTemplatesTable>> {
  const byId = typeof ref === 'number' || /^\d+$/.test(ref);
  const row = await q.selectFrom('message_templates').selectAll().where(byId ? 'id' : 'name', '=', byId ? Number(ref) : String(ref)).executeTakeFirst();
  if (!row) throw notFound(`template "${ref}"`);
  return row;
}

export async function getTemplate(q: Q, ref: string | number): Promise<TemplateView> {
  return view(await templateRow(q, ref));
}

/** Replaces a template's content (and name); messages sent from now on use the new version. */
export async function updateTemplate(q: Q, ref: string | number, input: TemplateInput): Promise<TemplateView> {
  const row = await templateRow(q, ref);
  const t = checked(input);
  if (t.name !== row.name && (await q.selectFrom('message_templates').select('id').where('name', '=', t.name).executeTakeFirst())) throw new EstafetaError('CONFLICT', `a template named "${t.name}" already exists`);
  const updated = await q.updateTable('message_templates').set({ ...t, version: row.version + 1, updated_at: Date.now() }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
  return view(updated);
}

export async function deleteTemplate(q: Q, ref: string | number): Promise<void> {
  const row = await templateRow(q, ref);
  await q.deleteFrom('message_templates').where('id', '=', row.id).execute();
}

export type Rendered = { ok: true; input: MessageInput } | { ok: false; error: { code: string; message: string; missing?: string[] } };

/**
 * Each message that names a template gets the template's subject, HTML and text rendered
 * with its data; the others come back as they are. A message's own error (unknown template,
 * missing fields, both a template and content) is its own: the others are not stopped.
 */
export async function renderTemplates(q: Q, inputs: MessageInput[]): Promise<Rendered[]> {
  const rows = new Map<string, Selectable<MessageTemplatesTable> | EstafetaError>();
  const out: Rendered[] = [];
  for (const m of inputs) {
    if (m.template === undefined) {
      out.push({ ok: true, input: m });
      continue;
    }
    const given = (['subject', 'html', 'text', 'raw'] as const).filter((k) => m[k] !== undefined);
    if (given.length) {
      out.push({ ok: false, error: { code: 'INVALID_INPUT', message: `template: the template gives the content; leave out ${given.join(', ')}` } });
      continue;
    }
    const data = m.data ?? {};
    if (JSON.stringify(data).length > SEND_LIMITS.templateDataChars) {
      out.push({ ok: false, error: { code: 'INVALID_INPUT', message: `data: at most ${SEND_LIMITS.templateDataChars} characters of JSON` } });
      continue;
    }
    const ref = String(m.template);
    if (!rows.has(ref)) rows.set(ref, await templateRow(q, m.template).catch((err: EstafetaError) => err));
    const row = rows.get(ref)!;
    if (row instanceof EstafetaError) {
      out.push({ ok: false, error: { code: row.code, message: row.message } });
      continue;
    }
    const c = compiledOf(row);
    const missing = [...new Set([c.subject, c.html, c.text].flatMap((p) => (p ? missingFields(p, data) : [])))];
    if (missing.length) {
      out.push({ ok: false, error: { code: MISSING_FIELDS, message: `data lacks ${missing.length === 1 ? 'a field' : 'fields'} the template "${row.name}" needs: ${missing.join(', ')}`, missing } });
      continue;
    }
    try {
      const { template: _t, data: _d, ...rest } = m;
      out.push({ ok: true, input: { ...rest, subject: c.subject.render(data).replace(/[\r\n]+/g, ' ').slice(0, 998), ...(c.html ? { html: c.html.render(data) } : {}), ...(c.text ? { text: c.text.render(data) } : {}) } });
    } catch (err) {
      out.push({ ok: false, error: { code: 'INVALID_INPUT', message: `the template "${row.name}" could not be rendered with this data: ${(err as Error).message}` } });
    }
  }
  return out;
}
