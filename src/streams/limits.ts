/**
 * The send API's bounds: a message's recipients and size, its attachments, a raw message's
 * size, a batch's messages and size. A call over them is refused with the limit named; in a
 * batch, one message over a per-message bound fails alone. Not here: the rate a key may
 * send at (rate.ts, from the configuration).
 */
export const SEND_LIMITS = {
  /** To, Cc and Bcc together, per message. */
  recipientsPerMessage: 50,
  /** Subject, HTML, text and headers of one message, in characters. */
  messageChars: 2 * 1024 * 1024,
  /** Attachments (inline ones included) per message. */
  attachments: 20,
  /** The decoded bytes of a message's attachments together: a receipt's PDF fits, a video does not. */
  attachmentBytes: 10 * 1024 * 1024,
  /** A raw MIME message, decoded, in bytes. */
  rawBytes: 12 * 1024 * 1024,
  /** Messages per batch call. */
  batchMessages: 500,
  /** The request body of a single call, in bytes (attachments travel base64, a third larger). */
  singleBodyBytes: 18 * 1024 * 1024,
  /** The request body of a batch call, in bytes. */
  batchBodyBytes: 50 * 1024 * 1024,
  /** Recipients of a whole batch. */
  batchRecipients: 5000,
  /** Tags per message, and the JSON size of its metadata. */
  tags: 20,
  metadataChars: 4000,
  /** The JSON size of a message's template data. */
  templateDataChars: 256 * 1024,
} as const;
