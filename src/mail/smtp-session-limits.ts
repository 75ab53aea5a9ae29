/**
 * The caps both of Estafeta's SMTP servers (the bounce listener and SMTP submission) put on
 * their sessions: connections per client IP (421 4.7.0 past it, then closed by smtp-server),
 * session length (421 4.4.2, then closed) and recipients per message (452 4.5.3, the
 * enhanced code RFC 5321 clients look for, which smtp-server's own maxRecipients leaves out).
 * Kept here once so the two listeners answer alike. Not here: what each listener accepts,
 * its connections in all or its idle time (smtp-server's maxClients and socketTimeout).
 */
import type { SMTPServerSession } from 'smtp-server';

/** An smtp-server refusal: the error's responseCode is the reply's code. */
export const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export interface SessionCapsOptions {
  maxConnectionsPerIp: number;
  sessionTimeoutMs: number;
  /** Sends a 421 with this text to the session and closes it (the listener finds its connection). */
  endSession(sessionId: string, text: string): void;
}

/**
 * Open sessions per client IP and each session's deadline; `T` is what the listener keeps
 * per session besides (submission's failed AUTHs, say), made by `init` when it opens.
 */
export function sessionCaps<T extends object = Record<never, never>>(o: SessionCapsOptions, init: () => T = () => ({}) as T) {
  const perIp = new Map<string, number>();
  const sessions = new Map<string, T & { ip: string; deadline: NodeJS.Timeout }>();
  return {
    /** For onConnect: the refusal when the client's IP has too many sessions open, else null (and the session is counted). */
    open(session: SMTPServerSession): Error | null {
      const ip = session.remoteAddress;
      const open = perIp.get(ip) ?? 0;
      if (open >= o.maxConnectionsPerIp) return smtpError(421, `4.7.0 too many connections from ${ip} (at most ${o.maxConnectionsPerIp}), try again later`);
      perIp.set(ip, open + 1);
      const deadline = setTimeout(() => o.endSession(session.id, `4.4.2 session longer than ${Math.round(o.sessionTimeoutMs / 1000)} s, closing`), o.sessionTimeoutMs);
      deadline.unref();
      sessions.set(session.id, Object.assign(init(), { ip, deadline }));
      return null;
    },
    /** For onClose, called for every connection that closes, counted or not (refused ones never were). */
    close(session: SMTPServerSession): void {
      const s = sessions.get(session.id);
      if (!s) return;
      sessions.delete(session.id);
      clearTimeout(s.deadline);
      const left = (perIp.get(s.ip) ?? 1) - 1;
      if (left > 0) perIp.set(s.ip, left);
      else perIp.delete(s.ip);
    },
    /** What the listener keeps for an open session. */
    get(sessionId: string): T | undefined {
      return sessions.get(sessionId);
    },
  };
}

/** For onRcptTo: the refusal when the message has its most recipients already, else null. */
export function tooManyRecipients(session: SMTPServerSession, maxRecipients: number): Error | null {
  return session.envelope.rcptTo.length >= maxRecipients ? smtpError(452, `4.5.3 too many recipients (at most ${maxRecipients} per message), send the rest in another message`) : null;
}
