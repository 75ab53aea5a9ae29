/**
 * Measures the bounce parser and classifier against a labelled corpus.
 *
 *   npm run eval:bounces -- --corpus DIR [--labels FILE] [--json] [--verbose]
 *
 * For each labelled (mail, recipient) line of the JSONL labels file (format in the
 * corpora README), parses the mail, picks the labelled recipient, classifies it and
 * compares recipient, failure reason, failure type and bounce/not-bounce with the label.
 * Only labels that are not null are counted. --json prints exactly one JSON object.
 * --verbose lists every disagreement. The corpus is read, never copied.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { classifyBounce, classifyReply, loadBouncePolicy } from '../src/classify/index.ts';
import { bounceRecipient, parseBounceMail, type BounceRecipient, type ParsedBounce } from '../src/mail/bounce-mail.ts';
import type { Qualification } from '../src/mail/failure.ts';

interface Label {
  file: string;
  recipient: string | null;
  reason: string | null;
  type: string | null;
  category: string | null;
  status: string | null;
  bounce: boolean | null;
}

interface Score {
  agree: number;
  total: number;
}
type Metric = 'recipient' | 'reason' | 'type' | 'bounce';
type Scores = Record<Metric, Score>;
const METRICS: Metric[] = ['recipient', 'reason', 'type', 'bounce'];

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: npm run eval:bounces -- --corpus DIR [--labels FILE] [--json] [--verbose]');
  process.exit(2);
}

function parseArgs(argv: string[]) {
  let corpus: string | null = null;
  let labels: string | null = null;
  let json = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--corpus') corpus = argv[++i] ?? usage('--corpus needs a directory');
    else if (a === '--labels') labels = argv[++i] ?? usage('--labels needs a file');
    else if (a === '--json') json = true;
    else if (a === '--verbose') verbose = true;
    else usage(`unknown argument ${a}`);
  }
  if (!corpus) usage('--corpus is required');
  return { corpus: resolve(corpus), labels: resolve(labels ?? join(corpus, 'labels.jsonl')), json, verbose };
}

function readLabels(file: string): Label[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Label;
      } catch {
        usage(`${file}:${i + 1}: not a JSON object`);
      }
    });
}

const emptyScores = (): Scores => ({
  recipient: { agree: 0, total: 0 },
  reason: { agree: 0, total: 0 },
  type: { agree: 0, total: 0 },
  bounce: { agree: 0, total: 0 },
});

function sameAddress(a: string | null, b: string): boolean {
  return a !== null && a.toLowerCase() === b.toLowerCase();
}

function pick(parsed: ParsedBounce, wanted: string | null): BounceRecipient | null {
  if (wanted) {
    const hit = parsed.recipients.find((r) => sameAddress(r.recipient, wanted) || sameAddress(r.originalRecipient, wanted));
    if (hit) return hit;
  }
  return parsed.recipients[0] ?? null;
}

const NO_RECIPIENT: BounceRecipient = bounceRecipient({ recipient: null });

// Classification speed on this corpus's own replies, with the reply cache emptied before
// each pass so every reply goes through the rules.
function speed(parsed: Map<string, ParsedBounce>, policy: ReturnType<typeof loadBouncePolicy>): string {
  const replies = [...parsed.values()].flatMap((p) => p.recipients).map((r) => r.reply ?? { code: 550, enhanced: r.status, text: r.diagnostic ?? '' });
  if (replies.length === 0) return 'classification speed: no replies';
  let n = 0;
  const start = process.hrtime.bigint();
  for (let pass = 0; pass < 20; pass++) {
    policy.replyCache.clear();
    for (const reply of replies) {
      classifyReply(reply, policy);
      n++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return `classification speed: ${Math.round(n / seconds)} replies/s uncached (${replies.length} replies x 20 passes)`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const labels = readLabels(args.labels);
  const policy = loadBouncePolicy();
  const parsedByFile = new Map<string, ParsedBounce>();
  for (const label of labels) {
    if (parsedByFile.has(label.file)) continue;
    let raw: Buffer;
    try {
      raw = readFileSync(join(args.corpus, label.file));
    } catch (err) {
      usage(`${label.file}: cannot read (${(err as Error).message})`);
    }
    parsedByFile.set(label.file, await parseBounceMail(raw));
  }

  const overall = emptyScores();
  const byCategory = new Map<string, Scores>();
  const disagreements: string[] = [];
  for (const label of labels) {
    const parsed = parsedByFile.get(label.file)!;
    const chosen = pick(parsed, label.recipient);
    const q: Qualification = classifyBounce(parsed, chosen ?? NO_RECIPIENT, policy);
    const isBounce = ['dsn', 'arf', 'auto-reply', 'bounce'].includes(parsed.kind) && q.category !== 'delivered';
    const found = label.recipient !== null && parsed.recipients.some((r) => sameAddress(r.recipient, label.recipient!) || sameAddress(r.originalRecipient, label.recipient!));
    const outcomes: Partial<Record<Metric, boolean>> = {};
    if (label.recipient !== null) outcomes.recipient = found;
    if (label.reason !== null) outcomes.reason = q.failureReason === label.reason;
    if (label.type !== null) outcomes.type = q.failureType === label.type;
    if (label.bounce !== null) outcomes.bounce = isBounce === label.bounce;
    const key = label.category ?? '(none)';
    const cat = byCategory.get(key) ?? emptyScores();
    byCategory.set(key, cat);
    for (const m of METRICS) {
      const ok = outcomes[m];
      if (ok === undefined) continue;
      for (const s of [overall[m], cat[m]]) {
        s.total++;
        if (ok) s.agree++;
      }
    }
    if (args.verbose && Object.values(outcomes).some((ok) => ok === false)) {
      const bad = METRICS.filter((m) => outcomes[m] === false).join(',');
      disagreements.push(
        `${label.file} [${bad}] label=${label.recipient} ${label.reason}/${label.type} (${label.category} ${label.status}) ` +
          `got=${parsed.kind} ${chosen?.recipient ?? '-'} ${q.failureReason}/${q.failureType} ${q.category} rule=${q.ruleId} ` +
          `status=${chosen?.status ?? '-'} diag=${(chosen?.diagnostic ?? '').slice(0, 160)}`,
      );
    }
  }

  const unparsed = [...parsedByFile.entries()].filter(([, p]) => p.kind === 'unparsable');
  if (args.json) {
    const result = {
      mails: parsedByFile.size,
      unparsed: unparsed.length,
      ...overall,
      byCategory: Object.fromEntries([...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
    console.log(JSON.stringify(result));
    return;
  }

  const pct = (s: Score) => (s.total === 0 ? '     -' : `${((100 * s.agree) / s.total).toFixed(1).padStart(5)}%`);
  const cell = (s: Score) => `${pct(s)} ${`${s.agree}/${s.total}`.padStart(9)}`;
  console.log(`corpus ${args.corpus}: ${parsedByFile.size} mails, ${labels.length} labels, ${unparsed.length} unparsable`);
  console.log(`${'category'.padEnd(18)} ${METRICS.map((m) => m.padEnd(16)).join(' ')}`);
  for (const [name, s] of [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${name.padEnd(18)} ${METRICS.map((m) => cell(s[m])).join(' ')}`);
  }
  console.log(`${'overall'.padEnd(18)} ${METRICS.map((m) => cell(overall[m])).join(' ')}`);
  for (const [file, p] of unparsed) console.log(`unparsable: ${file}: ${p.error}`);
  console.log(speed(parsedByFile, policy));
  for (const line of disagreements) console.log(line);
}

await main();
