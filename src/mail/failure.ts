/**
 * The failure vocabulary of email delivery, in Adobe Campaign's terms: failure types,
 * failure reasons (with Campaign's technical values) and bounce categories.
 *
 * Pure data and lookups; no I/O. Classification rules live in `qualification/` and policy files;
 * this file only names the values they may produce.
 */

/** Campaign's failure type. `Not defined` means "in qualification": nothing matched yet. */
export const FAILURE_TYPES = ['Hard', 'Soft', 'Ignored', 'Not defined'] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

/** Campaign's failure reasons with their documented technical values (campaign-spec §3.2). */
export const FAILURE_REASON_VALUES = {
  'Not defined': 0,
  'User unknown': 1,
  'Invalid domain': 2,
  Unreachable: 3,
  'Account disabled': 4,
  'Mailbox full': 5,
  'Not connected': 6,
  'Address not specified': 7,
  'Denylisted address': 8,
  'Address in quarantine': 9,
  Double: 10,
  'Excluded by a SQL rule': 11,
  'Excluded after arbitration': 12,
  'Bad-quality address': 14,
  'Unqualified address': 15,
  'Not eligible for the offers': 16,
  'Target limited in size': 17,
  Refused: 20,
  'Error ignored': 25,
  'Control address': 127,
} as const;
export type FailureReason = keyof typeof FAILURE_REASON_VALUES;
export const FAILURE_REASONS = Object.keys(FAILURE_REASON_VALUES) as FailureReason[];

export function isFailureReason(value: string): value is FailureReason {
  return Object.prototype.hasOwnProperty.call(FAILURE_REASON_VALUES, value);
}

export function isFailureType(value: string): value is FailureType {
  return (FAILURE_TYPES as readonly string[]).includes(value);
}

/**
 * Bounce categories: what happened, finer than a failure reason. A category maps to a
 * failure type + reason through an operator-editable table (policy/bounce-categories.yaml).
 * Names follow Momentum/KumoMTA labels where one exists.
 */
export const BOUNCE_CATEGORIES = [
  'user-unknown', // mailbox does not exist (5.1.1)
  'bad-domain', // domain does not exist / no MX / null MX
  'inactive-mailbox', // account disabled, suspended, expired
  'mailbox-full', // over quota
  'message-too-large',
  'protocol-error', // the server did not understand a command (500-504)
  'rate-limited', // throttling, too many connections / messages
  'spam-block', // IP or domain reputation block, blocklists
  'spam-content', // content rejected as spam, virus, prohibited attachment
  'policy', // DMARC / SPF / DKIM / authentication or other policy rejection
  'relay-denied',
  'greylisted',
  'transient', // temporary failure of the remote system, try again later
  'connection', // cannot connect, connection dropped, timeout
  'tls', // TLS required but not available / certificate problem
  'expired', // retried until the validity period ended
  'auto-reply', // out of office, vacation, autoresponder
  'challenge-response',
  'complaint', // ARF feedback report: recipient marked as spam
  'unsubscribe',
  'delivered', // a success report (DSN Action: delivered/relayed)
  'undetermined', // matched no rule
] as const;
export type BounceCategory = (typeof BOUNCE_CATEGORIES)[number];

export function isBounceCategory(value: string): value is BounceCategory {
  return (BOUNCE_CATEGORIES as readonly string[]).includes(value);
}

/** What the MTA or the feedback service does with a qualified failure. */
export const DISPOSITIONS = ['retry', 'fail', 'fail-quarantine', 'ignore', 'complaint', 'deliver'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** The result of qualifying one SMTP reply or one bounce mail recipient. */
export interface Qualification {
  category: BounceCategory;
  failureType: FailureType;
  failureReason: FailureReason;
  disposition: Disposition;
  /** Id of the rule that matched, or null when nothing matched ("Not defined"). */
  ruleId: string | null;
}
