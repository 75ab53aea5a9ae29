/**
 * DKIM key material with node:crypto: generates RSA-2048 and Ed25519 key pairs, reads an
 * imported PEM private key (PKCS#8 or PKCS#1) and checks it suits DKIM, and derives the
 * public key published in DNS: the SubjectPublicKeyInfo DER for RSA (RFC 6376), the raw
 * 32-byte key for Ed25519 (RFC 8463). Not here: storage, selectors, signing.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { invalidInput } from '../lib/errors.ts';
import type { DkimAlgorithm } from './sign.ts';

export const DKIM_ALGORITHMS: DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];
export const RSA_BITS = 2048;

export interface KeyMaterial {
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM; stays on the server. */
  privateKey: string;
  /** The base64 value of the DNS record's p= tag. */
  publicKey: string;
}

const generate = promisify(generateKeyPair);

export async function generateDkimKey(algorithm: DkimAlgorithm): Promise<KeyMaterial> {
  const pair = algorithm === 'rsa-sha256' ? await generate('rsa', { modulusLength: RSA_BITS }) : await generate('ed25519');
  return material(algorithm, pair.privateKey);
}

/** Reads an operator's PEM private key; the algorithm is the key's own unless one is asked. */
export function importDkimKey(pem: string, algorithm?: DkimAlgorithm): KeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw invalidInput(`privateKey: not a readable PEM private key (${(err as Error).message})`);
  }
  const type = key.asymmetricKeyType;
  const actual: DkimAlgorithm | null = type === 'rsa' ? 'rsa-sha256' : type === 'ed25519' ? 'ed25519-sha256' : null;
  if (!actual) throw invalidInput(`privateKey: a ${type} key cannot sign DKIM; use RSA or Ed25519`);
  if (algorithm && algorithm !== actual) throw invalidInput(`privateKey: the key is ${type}, which does not match algorithm ${algorithm}`);
  // RFC 8301: verifiers ignore RSA keys under 1024 bits; 2048 is what receivers expect now.
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (actual === 'rsa-sha256' && bits < 1024) throw invalidInput(`privateKey: an RSA key of ${bits} bits is too short for DKIM (at least 1024, preferably 2048)`);
  return material(actual, key);
}

function material(algorithm: DkimAlgorithm, key: KeyObject): KeyMaterial {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  // An Ed25519 SPKI is a fixed 12-byte prefix followed by the 32-byte key.
  const publicKey = algorithm === 'ed25519-sha256' ? spki.subarray(spki.length - 32) : spki;
  return { algorithm, privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: publicKey.toString('base64') };
}

/** Where the public key is published: <selector>._domainkey.<domain>. */
export const dnsRecordName = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;

/** The TXT record's value. */
export const dnsRecordValue = (algorithm: DkimAlgorithm, publicKey: string) => `v=DKIM1; k=${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${publicKey}`;

/** The record as a zone-file line: TXT strings are at most 255 bytes, so a 2048-bit key takes two. */
export function zoneFileLine(selector: string, domain: string, value: string): string {
  const strings = value.match(/.{1,255}/g) ?? [''];
  return `${dnsRecordName(selector, domain)}. IN TXT ( ${strings.map((s) => `"${s}"`).join(' ')} )`;
}
