/**
 * Gathers the messages that sessions finish at about the same time into one
 * StreamSender.send call (one transaction, one DKIM hand-off per domain), as the send API's
 * batch form does: twenty sessions each waiting for their own commit would otherwise pay a
 * transaction per message. Each message still gets its own result, and its session its own
 * reply, only after the commit. A batch leaves when it is full or after `waitMs`.
 */
import type { MessageInput, MessageResult, StreamSender } from '../streams/index.ts';

interface Waiting {
  input: MessageInput;
  resolve(r: MessageResult): void;
  reject(err: unknown): void;
}

export class SubmissionBatcher {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly streams: Pick<StreamSender, 'send'>, private readonly o: { max: number; waitMs: number } = { max: 200, waitMs: 2 }) {}

  send(input: MessageInput): Promise<MessageResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.waiting.length >= this.o.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.waitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    if (!batch.length) return;
    this.streams.send(batch.map((w) => w.input)).then(
      (results) => batch.forEach((w, i) => w.resolve(results[i])),
      (err) => batch.forEach((w) => w.reject(err)),
    );
  }
}
