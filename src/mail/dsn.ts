/**
 * RFC 3464 delivery status notifications: the fields of a message/delivery-status part
 * (or of message/global-delivery-status, RFC 6533), per message and per recipient.
 *
 * Parses field text only. Finding the part inside a MIME message is bounce-mail.ts's job;
 * deciding what a status means is qualification/'s.
 */
import { normalizeAddress } from './addresses-in-text.ts';
import { findStatusCode } from './reply-text.ts';
import { all, first, parseFieldBlocks, stripValueType, type Fields } from './report-fields.ts';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipientFields {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: DsnAction | null;
  status: string | null;
  /** Diagnostic-Code without its type ("smtp; "), continuation lines joined. */
  diagnostic: string | null;
  diagnosticType: string | null;
  remoteMta: string | null;
}

export interface DsnReport {
  reportingMta: string | null;
  envelopeId: string | null;
  recipients: DsnRecipientFields[];
}

/** Maps an Action value, including common misspellings, to RFC 3464's five actions. */
export function normalizeAction(value: string | null): DsnAction | null {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  if (/^fail/.test(v)) return 'failed';
  if (/^delay/.test(v)) return 'delayed';
  if (/^deliver/.test(v)) return 'delivered';
  if (/^relay/.test(v)) return 'relayed';
  if (/^expand/.test(v)) return 'expanded';
  return null;
}

function typedValue(value: string | null): string | null {
  if (!value) return null;
  const v = stripValueType(value).value;
  return v === '' ? null : v;
}

const RECIPIENT_FIELDS = ['final-recipient', 'original-recipient', 'x-actual-recipient'];

function isRecipientBlock(block: Fields): boolean {
  return RECIPIENT_FIELDS.some((name) => block.has(name)) || block.has('action') || block.has('status');
}

// Some MTAs omit the blank line between two recipient blocks: start a new block whenever
// a recipient field repeats.
function splitMergedRecipients(block: Fields): Fields[] {
  const finals = all(block, 'final-recipient');
  if (finals.length <= 1) return [block];
  const out: Fields[] = [];
  for (let i = 0; i < finals.length; i++) {
    const piece: Fields = new Map();
    for (const [name, values] of block) {
      const v = values[i] ?? (values.length === 1 ? values[0] : undefined);
      if (v !== undefined) piece.set(name, [v]);
    }
    out.push(piece);
  }
  return out;
}

function recipientFrom(block: Fields): DsnRecipientFields {
  const diagRaw = first(block, 'diagnostic-code');
  const diag = diagRaw ? stripValueType(diagRaw) : null;
  const statusRaw = first(block, 'status');
  return {
    finalRecipient: normalizeAddress(typedValue(first(block, 'final-recipient') ?? first(block, 'x-actual-recipient'))),
    originalRecipient: normalizeAddress(typedValue(first(block, 'original-recipient'))),
    action: normalizeAction(first(block, 'action')),
    status: statusRaw ? findStatusCode(statusRaw) : null,
    diagnostic: diag && diag.value !== '' ? diag.value : null,
    diagnosticType: diag?.type ?? null,
    remoteMta: typedValue(first(block, 'remote-mta')),
  };
}

/** Parses the text of a delivery-status part. Never throws; missing fields are null. */
export function parseDeliveryStatus(text: string): DsnReport {
  const blocks = parseFieldBlocks(text);
  let reportingMta: string | null = null;
  let envelopeId: string | null = null;
  const recipients: DsnRecipientFields[] = [];
  for (const block of blocks) {
    reportingMta ??= typedValue(first(block, 'reporting-mta'));
    envelopeId ??= first(block, 'original-envelope-id');
    if (!isRecipientBlock(block)) continue;
    for (const piece of splitMergedRecipients(block)) {
      const r = recipientFrom(piece);
      if (r.finalRecipient || r.originalRecipient || r.status || r.diagnostic) recipients.push(r);
    }
  }
  return { reportingMta, envelopeId, recipients };
}

/** True when a text looks like delivery-status fields (used for DSNs pasted as plain text). */
export function looksLikeDeliveryStatus(text: string): boolean {
  return /^[ \t]*(?:Final|Original)-Recipient[ \t]*:/im.test(text) && /^[ \t]*(?:Action|Status)[ \t]*:/im.test(text);
}
