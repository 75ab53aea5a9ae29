/**
 * The send API's bounds: a message's recipients and size, a batch's messages and size. A
 * call over them is refused with the limit named; in a batch, one message over a
 * per-message bound fails alone.
 */
export const SEND_LIMITS = {
  /** To, Cc and Bcc together, per message. */
  recipientsPerMessage: 50,
  /** Subject, HTML, text and headers of one message, in characters. */
  messageChars: 2 * 1024 * 1024,
  /** Messages per batch call. */
  batchMessages: 500,
  /** The request body of a single call, in bytes. */
  singleBodyBytes: 4 * 1024 * 1024,
  /** The request body of a batch call, in bytes. */
  batchBodyBytes: 50 * 1024 * 1024,
  /** Recipients of a whole batch. */
  batchRecipients: 5000,
  /** Tags per message, and the JSON size of its metadata. */
  tags: 20,
  metadataChars: 4000,
} as const;
