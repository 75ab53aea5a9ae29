/**
 * The shape of a delivery as an operator writes it (API body, CLI flags, JSON file),
 * validated with zod. Shared by the HTTP API and the CLI so both give the same errors.
 */
import { z } from 'zod';
import { extraHeadersProblems } from '../mail/extra-headers.ts';

// Address checks pass a line break in a domain (domainToASCII drops it), and the address
// goes into a header as written: refuse control characters here.
const NO_CONTROLS = /^[^\x00-\x1f\x7f]*$/;
const noControls = 'an address cannot hold line breaks or other control characters';

export const senderSchema = z.object({
  /** Line breaks in the name become spaces in the From header (mail/mime-build.ts formatAddress). */
  name: z.string().trim().max(200).default(''),
  address: z.string().trim().min(3, 'the sender address is required').regex(NO_CONTROLS, noControls),
});

const duration = z.union([z.string().min(1), z.number().positive()]);

/**
 * Extra headers added to every message, e.g. {"X-Campaign": "spring"}. Creation and update
 * both use this one schema: names and values are checked, and headers Estafeta sets or that
 * would change recipients or structure are refused by name (rules in mail/extra-headers.ts).
 */
export const extraHeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const message of extraHeadersProblems(headers)) ctx.addIssue({ code: 'custom', message });
});

export const recipientSchema = z.record(z.string(), z.unknown());

export const deliveryCreateSchema = z
  .object({
    label: z.string().trim().max(200).optional(),
    from: senderSchema,
    replyTo: z.string().trim().regex(NO_CONTROLS, noControls).optional(),
    subject: z.string().min(1, 'a subject is required').max(998),
    html: z.string().optional(),
    text: z.string().optional(),
    /** How long the MTA keeps trying: "3.5d", "36h", or seconds. */
    validity: duration.optional(),
    headers: extraHeadersSchema.optional(),
    /** Unsubscribe page URL; may use {{ fields }}. Defaults to Estafeta's own one-click page. */
    unsubscribeUrl: z.string().optional(),
    /** Target recipients given inline: objects with an `email` field and personalization fields. */
    recipients: z.array(recipientSchema).optional(),
    /** Sending IP pool (Campaign's IP affinity) from policy/sending-ips.yaml; "default" when absent. */
    ipPool: z.string().trim().min(1).max(100).optional(),
    /** Opens and clicks tracked (signed redirect links and an open pixel in the HTML part); true when absent. */
    tracking: z.boolean().optional(),
    /** Links of the text part tracked too (they then show as redirect URLs); false when absent. */
    trackTextLinks: z.boolean().optional(),
    /** Target recipients as CSV text: an `email` column plus personalization columns. */
    recipientsCsv: z.string().optional(),
  })
  .refine((d) => Boolean(d.html?.trim() || d.text?.trim()), { message: 'give HTML content, text content, or both', path: ['html'] })
  .refine((d) => !(d.recipients && d.recipientsCsv), { message: 'give recipients or recipientsCsv, not both', path: ['recipientsCsv'] });

export const deliveryUpdateSchema = z.object({
  label: z.string().trim().max(200).optional(),
  from: senderSchema.optional(),
  replyTo: z.string().trim().regex(NO_CONTROLS, noControls).nullable().optional(),
  subject: z.string().min(1).max(998).optional(),
  html: z.string().nullable().optional(),
  text: z.string().nullable().optional(),
  validity: duration.optional(),
  headers: extraHeadersSchema.optional(),
  unsubscribeUrl: z.string().nullable().optional(),
  ipPool: z.string().trim().min(1).max(100).nullable().optional(),
  tracking: z.boolean().optional(),
  trackTextLinks: z.boolean().optional(),
});

export type DeliveryCreateInput = z.input<typeof deliveryCreateSchema>;
export type DeliveryUpdateInput = z.input<typeof deliveryUpdateSchema>;

/**
 * safeParse that never throws: zod's length checks compare a `length` they find on any
 * object, and one that cannot become a number (`{"length": {"toString": ""}}`) throws a
 * TypeError. Such a value is simply not what the schema asks for.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): { success: true; data: z.output<T> } | { success: false; message: string; issues: unknown[] } {
  try {
    const r = schema.safeParse(input);
    return r.success ? { success: true, data: r.data } : { success: false, message: formatZod(r.error), issues: r.error.issues };
  } catch {
    return { success: false, message: 'a value has the wrong type (an object where text or a number is expected)', issues: [] };
  }
}

/** Zod's issues as one line in words: `from.address: … ; subject: …`. */
export function formatZod(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ');
}

