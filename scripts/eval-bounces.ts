/**
 * Measures the bounce parser and classifier against a labelled corpus of bounce mails, or
 * against a file of labelled SMTP reply strings.
 *
 *   npm run eval:bounces -- --corpus DIR [--labels FILE] [--rules FILE]... [--json] [--verbose]
 *   npm run eval:bounces -- --replies FILE [--rules FILE]... [--json] [--verbose]
 *
 * --rules loads an operator rules file before the shipped rules, as the application does
 * (policy/examples/*.yaml), so an operator option can be measured the same way.
 *
 * A replies file is JSON lines {"reply": "550 5.1.1 ...", "reason": "User unknown",
 * "type": "Hard", "command": "RCPT"?, "source": "..."}; a null reason or type is not scored.
 *
 * For each labelled (mail, recipient) line of the JSONL labels file (format in the
 * corpora README), parses the mail, picks the labelled recipient, classifies it and
 * compares recipient, failure reason, failure type and bounce/not-bounce with the label.
 * Only labels that are not null are counted. --json prints exactly one JSON object.
 * --verbose lists every disagreement. The corpus is read, never copied.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { classifyBounce, classifyReply, loadBouncePolicy } from '../src/qualification/index.ts';
import { bounceRecipient, parseBounceMail, type BounceRecipient, type ParsedBounce } from '../src/mail/bounce-mail.ts';
import type { Qualification } from '../src/mail/failure.ts';
import type { SmtpStage } from '../src/mail/reply-text.ts';
import { parseSmtpReply } from '../src/mail/smtp-reply.ts';

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
  console.error('usage: npm run eval:bounces -- --corpus DIR [--labels FILE] [--rules FILE]... [--json] [--verbose]');
  console.error('       npm run eval:bounces -- --replies FILE [--rules FILE]... [--json] [--verbose]');
  process.exit(2);
}

function parseArgs(argv: string[]) {
  let corpus: string | null = null;
  let labels: string | null = null;
  let replies: string | null = null;
  let json = false;
  let verbose = false;
  const rules: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--corpus') corpus = argv[++i] ?? usage('--corpus needs a directory');
    else if (a === '--labels') labels = argv[++i] ?? usage('--labels needs a file');
    else if (a === '--replies') replies = argv[++i] ?? usage('--replies needs a file');
    else if (a === '--rules') rules.push(resolve(argv[++i] ?? usage('--rules needs a file')));
    else if (a === '--json') json = true;
    else if (a === '--verbose') verbose = true;
    else usage(`unknown argument ${a}`);
  }
  if (!corpus && !replies) usage('--corpus or --replies is required');
  if (corpus && replies) usage('give either --corpus or --replies, not both');
  return {
    corpus: corpus ? resolve(corpus) : null,
    labels: corpus ? resolve(labels ?? join(corpus, 'labels.jsonl')) : null,
    replies: replies ? resolve(replies) : null,
    rules,
    json,
    verbose,
  };
}

function readLines<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    usage(`${file}: cannot read (${(err as Error).message})`);
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
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

interface ReplyLabel {
  reply: string;
  reason: string | null;
  type: string | null;
  command?: SmtpStage | null;
  source?: string;
}

// "Not defined" share: among the failures scored, how many no rule could qualify.
interface NotDefined {
  count: number;
  bounces: number;
  share: number;
}

const share = (count: number, of: number): NotDefined => ({ count, bounces: of, share: of === 0 ? 0 : count / of });

const pct = (s: Score) => (s.total === 0 ? '     -' : `${((100 * s.agree) / s.total).toFixed(1).padStart(5)}%`);
const cell = (s: Score) => `${pct(s)} ${`${s.agree}/${s.total}`.padStart(9)}`;

function scoreInto(scores: Scores[], metric: Metric, ok: boolean | undefined): void {
  if (ok === undefined) return;
  for (const s of scores) {
    s[metric].total++;
    if (ok) s[metric].agree++;
  }
}

// Replies are qualified as the MTA does during a session: classifyReply, with the SMTP
// command when the line names one. Each reply is timed with the cache emptied.
function evalReplies(args: ReturnType<typeof parseArgs>): void {
  const lines = readLines<ReplyLabel>(args.replies!);
  const policy = loadBouncePolicy({ rulesFiles: args.rules });
  const overall = emptyScores();
  const disagreements: string[] = [];
  let notDefined = 0;
  let failures = 0;
  let slowest = { ms: 0, item: '' };
  lines.forEach((line, index) => {
    if (typeof line.reply !== 'string') usage(`${args.replies}:${index + 1}: "reply" must be a string`);
    const reply = parseSmtpReply(line.reply);
    let ms = Infinity;
    let q!: Qualification;
    for (let run = 0; run < 5; run++) {
      policy.replyCache.clear();
      const start = performance.now();
      q = classifyReply(reply, policy, line.command ? { command: line.command } : {});
      ms = Math.min(ms, performance.now() - start);
    }
    if (ms > slowest.ms) slowest = { ms, item: `line ${index + 1}` };
    if (q.category !== 'delivered') {
      failures++;
      if (q.failureReason === 'Not defined') notDefined++;
    }
    const outcomes: Partial<Record<Metric, boolean>> = {};
    if (line.reason != null) outcomes.reason = q.failureReason === line.reason;
    if (line.type != null) outcomes.type = q.failureType === line.type;
    for (const m of METRICS) scoreInto([overall], m, outcomes[m]);
    if (args.verbose && Object.values(outcomes).some((ok) => ok === false)) {
      disagreements.push(`line ${index + 1}: label=${line.reason}/${line.type} got=${q.failureReason}/${q.failureType} ${q.category} rule=${q.ruleId} reply=${line.reply.slice(0, 160)}`);
    }
  });
  const nd = share(notDefined, failures);
  if (args.json) {
    console.log(JSON.stringify({ replies: lines.length, ...overall, notDefined: nd, slowestMs: Number(slowest.ms.toFixed(3)), slowest: slowest.item }));
    return;
  }
  console.log(`replies ${args.replies}: ${lines.length} lines`);
  console.log(`${'metric'.padEnd(10)} agreement`);
  for (const m of ['reason', 'type'] as Metric[]) console.log(`${m.padEnd(10)} ${cell(overall[m])}`);
  console.log(`not defined: ${(100 * nd.share).toFixed(1)}% of ${nd.bounces} failures; slowest reply ${slowest.ms.toFixed(2)} ms (${slowest.item})`);
  for (const line of disagreements) console.log(line);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.replies) return evalReplies(args);
  const corpus = args.corpus!;
  const labels = readLines<Label>(args.labels!);
  const policy = loadBouncePolicy({ rulesFiles: args.rules });
  const parsedByFile = new Map<string, ParsedBounce>();
  // Time per mail: parsing plus qualifying every recipient, the cache emptied first. One
  // untimed pass over the first mail first, so that loading and compiling the code is not
  // counted as the first mail's time.
  let slowest = { ms: 0, item: '' };
  if (labels.length > 0) {
    try {
      const warm = await parseBounceMail(readFileSync(join(corpus, labels[0].file)));
      for (const r of warm.recipients) classifyBounce(warm, r, policy);
    } catch {
      // an unreadable first file is reported by the loop below
    }
  }
  for (const label of labels) {
    if (parsedByFile.has(label.file)) continue;
    let raw: Buffer;
    try {
      raw = readFileSync(join(corpus, label.file));
    } catch (err) {
      usage(`${label.file}: cannot read (${(err as Error).message})`);
    }
    // The fastest of five timed runs: a garbage collection or another process on a shared
    // machine is not the mail's cost; a mail that is really slow is slow both times.
    let ms = Infinity;
    let parsed!: ParsedBounce;
    for (let run = 0; run < 5; run++) {
      policy.replyCache.clear();
      const start = performance.now();
      parsed = await parseBounceMail(raw);
      for (const r of parsed.recipients) classifyBounce(parsed, r, policy);
      ms = Math.min(ms, performance.now() - start);
    }
    if (ms > slowest.ms) slowest = { ms, item: label.file };
    parsedByFile.set(label.file, parsed);
  }

  const overall = emptyScores();
  const byCategory = new Map<string, Scores>();
  const disagreements: string[] = [];
  let bounces = 0;
  let notDefined = 0;
  for (const label of labels) {
    const parsed = parsedByFile.get(label.file)!;
    const chosen = pick(parsed, label.recipient);
    const q: Qualification = classifyBounce(parsed, chosen ?? NO_RECIPIENT, policy);
    const isBounce = ['dsn', 'arf', 'auto-reply', 'bounce'].includes(parsed.kind) && q.category !== 'delivered';
    // A real bounce is one its label calls a bounce and that reports a failure.
    if (label.bounce === true && q.category !== 'delivered' && label.reason !== null) {
      bounces++;
      if (q.failureReason === 'Not defined') notDefined++;
    }
    const found = label.recipient !== null && parsed.recipients.some((r) => sameAddress(r.recipient, label.recipient!) || sameAddress(r.originalRecipient, label.recipient!));
    const outcomes: Partial<Record<Metric, boolean>> = {};
    if (label.recipient !== null) outcomes.recipient = found;
    if (label.reason !== null) outcomes.reason = q.failureReason === label.reason;
    if (label.type !== null) outcomes.type = q.failureType === label.type;
    if (label.bounce !== null) outcomes.bounce = isBounce === label.bounce;
    const key = label.category ?? '(none)';
    const cat = byCategory.get(key) ?? emptyScores();
    byCategory.set(key, cat);
    for (const m of METRICS) scoreInto([overall, cat], m, outcomes[m]);
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
  const nd = share(notDefined, bounces);
  if (args.json) {
    const result = {
      mails: parsedByFile.size,
      unparsed: unparsed.length,
      ...overall,
      notDefined: nd,
      slowestMs: Number(slowest.ms.toFixed(3)),
      slowest: slowest.item,
      byCategory: Object.fromEntries([...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
    console.log(JSON.stringify(result));
    return;
  }

  console.log(`corpus ${corpus}: ${parsedByFile.size} mails, ${labels.length} labels, ${unparsed.length} unparsable`);
  console.log(`${'category'.padEnd(18)} ${METRICS.map((m) => m.padEnd(16)).join(' ')}`);
  for (const [name, s] of [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${name.padEnd(18)} ${METRICS.map((m) => cell(s[m])).join(' ')}`);
  }
  console.log(`${'overall'.padEnd(18)} ${METRICS.map((m) => cell(overall[m])).join(' ')}`);
  for (const [file, p] of unparsed) console.log(`unparsable: ${file}: ${p.error}`);
  console.log(`not defined: ${(100 * nd.share).toFixed(1)}% of ${nd.bounces} bounces; slowest mail ${slowest.ms.toFixed(2)} ms (${slowest.item})`);
  console.log(speed(parsedByFile, policy));
  for (const line of disagreements) console.log(line);
}

await main();
