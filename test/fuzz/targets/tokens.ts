/**
 * Fuzz target: the signed tokens of src/mail/verp.ts (VERP return path, unsubscribe
 * address, log token, Message-ID). A token made with the secret always reads back as its
 * log id; a token not made with it (random, made with another secret, or one made and then
 * altered) never reads back, except for the spellings the reader deliberately accepts
 * (case folded, surrounding spaces, leading zeros in the id), which name the same log.
 *
 * Message-IDs carry the delivery id and domain unsigned (issue 11, finding 7): an altered
 * one that still reads back is counted as that known finding.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import {
  logToken,
  messageIdFor,
  readLogToken,
  readMessageId,
  readUnsubscribeAddress,
  readVerpAddress,
  unsubscribeAddress,
  verpAddress,
} from '../../../src/mail/verp.ts';
import { nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';
import { known } from '../known.ts';

type Mutation = { kind: 'char'; at: number; char: string } | { kind: 'random'; text: string } | { kind: 'other-secret' } | { kind: 'other-id'; id: number } | { kind: 'case' } | { kind: 'space' } | { kind: 'zeros'; n: number };

interface Input {
  secret: string;
  otherSecret: string;
  logId: number;
  deliveryId: number;
  domain: string;
  mutation: Mutation;
}

const domainArb = fc.oneof(fc.domain(), fc.constantFrom('b.example', 'BOUNCES.example.COM', 'x'));
const idArb = fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.maxSafeNat().filter((n) => n > 0));
const base36 = [...'0123456789abcdefghijklmnopqrstuvwxyz-+@.<>ABCXYZ '];

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('char' as const), at: fc.nat(), char: fc.constantFrom(...base36) }),
  fc.record({ kind: fc.constant('random' as const), text: fc.oneof(nastyString(40), fc.string({ unit: fc.constantFrom(...base36), maxLength: 30 })) }),
  fc.constant({ kind: 'other-secret' as const }),
  fc.record({ kind: fc.constant('other-id' as const), id: idArb }),
  fc.constant({ kind: 'case' as const }),
  fc.constant({ kind: 'space' as const }),
  fc.record({ kind: fc.constant('zeros' as const), n: fc.integer({ min: 1, max: 3 }) }),
);

function arbitrary(): fc.Arbitrary<Input> {
  return fc.record({
    secret: fc.string({ minLength: 16, maxLength: 40 }),
    otherSecret: fc.string({ minLength: 16, maxLength: 40 }),
    logId: idArb,
    deliveryId: fc.integer({ min: 1, max: 2 ** 31 }),
    domain: domainArb,
    mutation: mutationArb,
  });
}

/** The token `t` altered by `m`, and whether it still names the same log by design. */
function alter(input: Input, t: string, make: (secret: string, id: number) => string): { token: string; same: boolean } {
  const m = input.mutation;
  switch (m.kind) {
    case 'char': {
      const i = m.at % t.length;
      const token = t.slice(0, i) + m.char + t.slice(i + 1);
      return { token, same: token.toLowerCase() === t.toLowerCase() };
    }
    case 'random':
      return { token: m.text, same: m.text.trim().toLowerCase() === t.toLowerCase() };
    case 'other-secret':
      return { token: make(input.otherSecret, input.logId), same: input.otherSecret === input.secret };
    case 'other-id':
      return { token: make(input.secret, m.id), same: m.id === input.logId };
    case 'case':
      return { token: t.toUpperCase(), same: true };
    case 'space':
      return { token: ` ${t}\t`, same: true };
    case 'zeros':
      return { token: '0'.repeat(m.n) + t, same: true };
  }
}

function checkLogToken(input: Input): void {
  const { secret, logId } = input;
  const t = logToken(secret, logId);
  assert.equal(readLogToken(secret, t), logId, 'a made log token reads back');
  const { token, same } = alter(input, t, (s, id) => logToken(s, id));
  const read = readLogToken(secret, token);
  if (same) {
    // Leading zeros may push the id past 13 digits: refused, which is safe.
    if (input.mutation.kind !== 'zeros' || read !== null) assert.equal(read, logId);
  } else if (read !== null) {
    // Another secret or id can give the same token only by a hash collision.
    const canonical = token.trim().toLowerCase().replace(/^0+(?=[0-9a-z])/, '');
    assert.equal(canonical, logToken(secret, read), `a token not made with the secret read back as log ${read}: ${JSON.stringify(token)}`);
  }
}

function checkAddresses(input: Input): void {
  const { secret, logId, domain } = input;
  const verp = verpAddress(secret, logId, domain);
  assert.equal(readVerpAddress(secret, verp, domain), logId, 'a made VERP address reads back');
  assert.equal(readVerpAddress(secret, verp), logId);
  assert.equal(readVerpAddress(input.otherSecret === secret ? `${secret}x` : input.otherSecret, verp), null, 'another secret refuses it');
  assert.equal(readVerpAddress(secret, verp, `other-${domain}`), null, 'another bounce domain refuses it');
  const unsub = unsubscribeAddress(secret, logId, domain);
  assert.equal(readUnsubscribeAddress(secret, unsub), logId, 'a made unsubscribe address reads back');
  const { token, same } = alter(input, verp, (s, id) => verpAddress(s, id, domain));
  const read = readVerpAddress(secret, token, domain);
  if (!same && read !== null) {
    const canonical = token.trim().toLowerCase().replace(/^bounce\+0+(?=[0-9a-z])/, 'bounce+');
    assert.equal(canonical, verpAddress(secret, read, domain).toLowerCase(), `an address not made with the secret read back as log ${read}: ${JSON.stringify(token)}`);
  }
  const u = alter(input, unsub, (s, id) => unsubscribeAddress(s, id, domain));
  const readU = readUnsubscribeAddress(secret, u.token);
  if (!u.same && readU !== null) {
    const local = u.token.trim().toLowerCase().replace(/^unsubscribe\+0+(?=[0-9a-z])/, 'unsubscribe+').split('@')[0];
    assert.equal(local, unsubscribeAddress(secret, readU, domain).toLowerCase().split('@')[0], `an unsubscribe address not made with the secret read back as log ${readU}: ${JSON.stringify(u.token)}`);
  }
}

function checkMessageId(input: Input): void {
  const { secret, logId, deliveryId, domain } = input;
  const mid = messageIdFor(secret, deliveryId, logId, domain);
  assert.equal(readMessageId(secret, mid), logId, 'a made Message-ID reads back');
  const { token, same } = alter(input, mid, (s, id) => messageIdFor(s, deliveryId, id, domain));
  const read = readMessageId(secret, token);
  if (same || read === null) return;
  if (input.mutation.kind === 'other-id') {
    assert.equal(read, input.mutation.id, 'a Message-ID made for another log reads back as that log');
    return;
  }
  // Not made with the secret: it may read back only as a spelling of the original.
  const m = /^<?(\d+)\.([0-9a-z]+)\.([0-9a-z]+)@([^>]+)>?$/i.exec(token.trim());
  assert.ok(m && read === logId, `a Message-ID not made with the secret read back as log ${read}: ${JSON.stringify(token)}`);
  if (Number(m[1]) !== deliveryId || m[4].toLowerCase() !== domain.toLowerCase()) known('finding-7: a Message-ID with another delivery id or domain reads back (the signature covers the log id only)');
  else assert.notEqual(input.mutation.kind, 'other-secret', `a Message-ID made with another secret read back: ${JSON.stringify(token)}`);
}

export const tokensTarget: FuzzTarget<Input> = {
  name: 'tokens',
  description: 'VERP, unsubscribe, log-token and Message-ID readers (src/mail/verp.ts)',
  arbitrary,
  async: false,
  check(input) {
    checkLogToken(input);
    checkAddresses(input);
    checkMessageId(input);
  },
};
