// The providers' published limits the overview compares a delivery's rates with. Data, not
// logic: change them here when a provider changes its rules.

export interface Threshold {
  /** Percent at which the rate deserves a look. */
  warn: number;
  /** Percent above which providers act (spam folder, blocks). */
  limit: number;
  warnSource: string;
  limitSource: string;
}

/** Complaints ÷ sent. Gmail's and Yahoo's bulk-sender rules (2024): stay under 0.1 %, never reach 0.3 %. */
export const COMPLAINT_RATE: Threshold = { warn: 0.1, limit: 0.3, warnSource: 'Gmail and Yahoo recommend under 0.1 %', limitSource: "Gmail's and Yahoo's limit" };

/** Hard bounces ÷ (sent + failed). Lists kept clean stay under 2 %; Amazon SES reviews an account at 5 %. */
export const HARD_BOUNCE_RATE: Threshold = { warn: 2, limit: 5, warnSource: 'a clean list stays under 2 %', limitSource: "Amazon SES's review threshold" };
