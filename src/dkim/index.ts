/**
 * DKIM: keys per sender domain and selector (store), signing (sign, off the main thread
 * through the signer, which the sender calls before spooling), and the analysis check.
 * Not the MTA's: the MTA sends bytes that are already signed.
 */
export { DkimSigner, type DkimSignerOptions } from './signer.ts';
export { DkimKeyCache } from './key-cache.ts';
export { dkimAnalysisCheck } from './analysis-check.ts';
export { createDkimKey, sealStoredKeys, listDkimKeys, getDkimKey, setDkimKeyActive, deleteDkimKey, normalizeDomain, type DkimKeyInfo, type CreateKeyInput } from './store.ts';
export { generateDkimKey, importDkimKey, dnsRecordName, dnsRecordValue, DKIM_ALGORITHMS, type KeyMaterial } from './keys.ts';
export { dkimSignatures, signMessage, SIGNED_HEADERS, type DkimAlgorithm, type SigningKey, type Canonicalization } from './sign.ts';
export { SignPool, type PoolKey } from './sign-pool.ts';
