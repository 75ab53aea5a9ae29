/**
 * Response shapes of the DKIM key routes (routes/dkim.ts) as zod schemas. Private keys have
 * no field here, so no answer can carry one. The algorithms are spelled out rather than
 * imported from src/dkim (which needs node:crypto), so that the dashboard's type check can
 * read this file; contract.test.ts checks they are the ones src/dkim signs with.
 */
import { z } from 'zod';

export const dkimKeySchema = z.object({
  id: z.number(),
  domain: z.string(),
  selector: z.string(),
  algorithm: z.enum(['rsa-sha256', 'ed25519-sha256']),
  publicKey: z.string().describe('base64, the p= value of the DNS record'),
  active: z.boolean().describe('every active key of a domain signs its messages'),
  createdAt: z.string(),
  updatedAt: z.string(),
  dns: z.object({
    name: z.string().describe('<selector>._domainkey.<domain>'),
    type: z.literal('TXT'),
    value: z.string(),
    zoneFile: z.string().describe('the record as a zone-file line, split in strings of at most 255 characters'),
  }),
});

export const dkimKeyListSchema = z.object({ keys: z.array(dkimKeySchema) });
