/**
 * A refused request's validation problems in words: "subject is required", "limit must be
 * at most 1000", "status must be one of: sent, failed", instead of zod's
 * "body.subject: Invalid input: expected string, received undefined". Works on the issues
 * fastify-type-provider-zod hands to the error handler (zod's issue code, path and fields);
 * a message a schema wrote itself is kept, after the field's name.
 */

/** One validation problem as fastify-type-provider-zod passes it (`err.validation[i]`). */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

const KINDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  date: 'a date',
};

/** The field in words: `from.address`, `recipients[3].email`; where it was sent, for the URL's parts. */
function fieldName(context: string | undefined, instancePath: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  const path = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  if (context === 'querystring') return path ? `the query parameter ${path}` : 'the query string';
  if (context === 'params') return path ? `the ${path} in the URL` : 'the URL';
  if (context === 'headers') return path ? `the header ${path}` : 'the headers';
  return path || (context === 'body' || context === undefined ? 'the body' : 'the request');
}

const ZOD_DEFAULT = /^(Invalid input|Too small|Too big|Invalid option|Invalid [A-Za-z ]+$|Unrecognized key|Invalid string|Invalid$)/;

function sized(origin: unknown, n: number, unit: 'least' | 'most'): string {
  const bound = unit === 'least' ? 'at least' : 'at most';
  if (origin === 'string') return n === 1 && unit === 'least' ? 'must not be empty' : `must have ${bound} ${n.toLocaleString('en')} character${n === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return n === 1 && unit === 'least' ? 'must not be empty' : `must have ${bound} ${n.toLocaleString('en')} item${n === 1 ? '' : 's'}`;
  if (origin === 'date') return `must be ${unit === 'least' ? 'on or after' : 'on or before'} ${new Date(n).toISOString()}`;
  return `must be ${bound} ${n.toLocaleString('en')}`;
}

export function issueInWords(context: string | undefined, issue: ValidationIssue): string {
  const field = fieldName(context, issue.instancePath);
  const p = issue.params ?? {};
  const message = issue.message ?? '';
  if (message && !ZOD_DEFAULT.test(message)) return `${field}: ${message}`;
  switch (issue.keyword) {
    case 'invalid_type': {
      if (/received undefined$/.test(message)) return `${field} is required`;
      const kind = KINDS[String(p.expected)] ?? String(p.expected ?? 'another type');
      return `${field} must be ${kind}`;
    }
    case 'too_small':
      return `${field} ${sized(p.origin, Number(p.minimum), 'least')}`;
    case 'too_big':
      return `${field} ${sized(p.origin, Number(p.maximum), 'most')}`;
    case 'invalid_value': {
      const values = Array.isArray(p.values) ? p.values.map(String) : [];
      return values.length === 1 ? `${field} must be ${values[0]}` : `${field} must be one of: ${values.join(', ')}`;
    }
    case 'invalid_format': {
      const formats: Record<string, string> = { email: 'an email address', url: 'a URL', datetime: 'a date and time in ISO 8601, e.g. 2026-04-26T07:00:00Z', date: 'a date (YYYY-MM-DD)', uuid: 'a UUID' };
      return `${field} must be ${formats[String(p.format)] ?? `in the ${String(p.format)} format`}`;
    }
    case 'unrecognized_keys': {
      const keys = Array.isArray(p.keys) ? p.keys.map(String) : [];
      return `${field} has ${keys.length === 1 ? 'a field' : 'fields'} Estafeta does not know: ${keys.join(', ')}`;
    }
    case 'invalid_union':
      return `${field} is not any of the accepted forms`;
    case 'not_multiple_of':
      return `${field} must be a multiple of ${String(p.divisor)}`;
    default:
      return message ? `${field}: ${message}` : `${field} is not valid`;
  }
}

/** A part of the request in words: "the body", "the query string", "the URL". */
export function partInWords(context: string | undefined): string {
  return fieldName(context, '');
}

/** Every problem of a refused request, one sentence each. */
export function validationInWords(context: string | undefined, issues: readonly ValidationIssue[]): string {
  return issues.map((i) => issueInWords(context, i)).join('; ');
}
