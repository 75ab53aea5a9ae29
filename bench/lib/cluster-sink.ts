/**
 * The receiving MX of bench/cluster.ts, run inside its own network namespace:
 * `node --import tsx bench/lib/cluster-sink.ts SMTP_HOST SMTP_PORT HTTP_PORT`. An smtp-server
 * that accepts every message (no STARTTLS, as Postfix's smtp-sink in bench/run.ts) and keeps
 * no mail, only counts: messages accepted per client address (so each MTA node's share shows
 * by its sending IP) and the most connections open at once. `GET /` on HTTP_PORT (same host)
 * answers the counts as JSON.
 */
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const [host, smtpPort, httpPort] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const byAddress: Record<string, number> = {};
const connections = { now: 0, max: 0, total: 0 };

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  onConnect(_session, cb) {
    connections.now++;
    connections.total++;
    connections.max = Math.max(connections.max, connections.now);
    cb();
  },
  onClose() {
    connections.now--;
  },
  onData(stream, session, cb) {
    stream.on('data', () => {});
    stream.on('end', () => {
      const from = session.remoteAddress.replace(/^::ffff:/, '');
      byAddress[from] = (byAddress[from] ?? 0) + session.envelope.rcptTo.length;
      cb();
    });
  },
});
smtp.listen(smtpPort, host);
createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ byAddress, connections }));
}).listen(httpPort, host);
process.on('SIGTERM', () => smtp.close(() => process.exit(0)));
