export * from './roles.ts';
export { hashPassword, verifyPassword, newPassword } from './secrets.ts';
export { listUsers, getUser, createUser, insertUser, updateUser, deleteUser, checkCredentials, countUsers, normalizeName, MIN_PASSWORD_LENGTH, type UserView } from './users.ts';
export { listApiKeys, createApiKey, deleteApiKey, principalForApiKey, createSession, principalForSession, deleteSession, SESSION_TTL_MS, type ApiKeyView } from './credentials.ts';
export { ensureAdmin } from './bootstrap.ts';
export { streamScopeRefusal, sendRefusal, streamsInWords } from './stream-scope.ts';
