export { startSubmission, type SubmissionListener, type SubmissionOptions } from './listener.ts';
export { loadSubmissionTls, type SubmissionTls } from './tls.ts';
export { parseSubmission, type ParsedSubmission } from './parse.ts';
export { createSmtpCredential, listSmtpCredentials, revokeSmtpCredential, checkSmtpCredential, type SmtpCredentialView } from './credentials.ts';
