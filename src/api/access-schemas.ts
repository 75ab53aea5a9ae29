/**
 * Response shapes of the API's access routes (auth.ts, users.ts) as zod schemas: who a
 * request is signed in as, the users and the API keys. No password hash and no key, except
 * the new key in the answer to its creation: the serializer drops what is not declared here.
 * Only zod and the role list are imported: the dashboard's type check reads this file too.
 */
import { z } from 'zod';
import { ROLES } from '../auth/roles.ts';

export const roleSchema = z.enum(ROLES);

export const principalSchema = z.object({
  kind: z.enum(['user', 'api-key']),
  id: z.number(),
  name: z.string(),
  role: roleSchema,
});

export const signedInSchema = z.object({ user: principalSchema });

export const userAccountSchema = z.object({ id: z.number(), name: z.string(), role: roleSchema, createdAt: z.string(), updatedAt: z.string(), lastLoginAt: z.string().nullable() });
export const userListSchema = z.object({ users: z.array(userAccountSchema) });

export const apiKeySchema = z.object({ id: z.number(), name: z.string(), prefix: z.string().describe('first characters, to recognise the key'), role: roleSchema, createdBy: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), streams: z.array(z.number()).nullable().describe('the streams the key is limited to, or null') });
export const apiKeyListSchema = z.object({ apiKeys: z.array(apiKeySchema) });
export const apiKeyCreatedSchema = apiKeySchema.extend({ key: z.string() });
