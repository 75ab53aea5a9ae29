/**
 * Errors that cross module boundaries carry a stable code, so the HTTP API and the CLI can
 * turn them into clear answers (404, 409, 422) without parsing messages. Outcomes of email
 * delivery are values, not errors: see mail/ and mta/.
 */

export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_INPUT'
  | 'ILLEGAL_STATE'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFIG';

const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID_INPUT: 400,
  ILLEGAL_STATE: 409,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CONFIG: 500,
};

export class EstafetaError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'EstafetaError';
    this.code = code;
    this.details = details;
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const notFound = (what: string) => new EstafetaError('NOT_FOUND', `${what} not found`);
export const invalidInput = (message: string, details?: unknown) => new EstafetaError('INVALID_INPUT', message, details);
export const illegalState = (message: string, details?: unknown) => new EstafetaError('ILLEGAL_STATE', message, details);
