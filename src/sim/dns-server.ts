/**
 * The simulator's DNS: a dns2 server on loopback (UDP and TCP on one port) that answers
 * from an in-memory zone: MX and A records of the simulated providers, the broken domains,
 * and whatever records callers add (TXT for DKIM keys, SPF and DMARC, MX/A for test domains,
 * PTR for sending IPs at the name `reverseName` gives).
 *
 * Authoritative for every name: a name it does not know is NXDOMAIN, a known name without
 * records of the asked type is an empty NOERROR answer (node reports ENODATA). It does not
 * recurse to the real internet: the simulator is a closed world.
 */
import dns2 from 'dns2';
import { reverseName } from '../lib/dns-lookup.ts';

export { reverseName };

const { Packet } = dns2;

export type SimDnsRecord =
  | { name: string; type: 'A'; address: string; ttl?: number }
  | { name: string; type: 'AAAA'; address: string; ttl?: number }
  | { name: string; type: 'MX'; exchange: string; priority: number; ttl?: number }
  | { name: string; type: 'TXT'; data: string | string[]; ttl?: number }
  | { name: string; type: 'CNAME'; domain: string; ttl?: number }
  /** Reverse DNS: `name` is the address's reverse name (reverseName('192.0.2.1')), `domain` the host name. */
  | { name: string; type: 'PTR'; domain: string; ttl?: number };

export interface SimDns {
  host: string;
  port: number;
  /** Adds records (arrays are flattened). Adding a record makes its name exist. */
  addRecords(...records: (SimDnsRecord | SimDnsRecord[])[]): void;
  /** Removes a name's records of one type, or all of them (the name then stops existing). */
  removeRecords(name: string, type?: SimDnsRecord['type']): void;
  /** Makes a name exist without records (answers NOERROR with no data). */
  addEmptyName(name: string): void;
  stop(): Promise<void>;
}

export interface SimDnsOptions {
  host?: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  port?: number;
  records?: SimDnsRecord[];
  emptyNames?: string[];
}

const DEFAULT_TTL = 60;
const TYPE_CODES: Record<SimDnsRecord['type'], number> = {
  A: Packet.TYPE.A,
  AAAA: Packet.TYPE.AAAA,
  MX: Packet.TYPE.MX,
  TXT: Packet.TYPE.TXT,
  CNAME: Packet.TYPE.CNAME,
  PTR: Packet.TYPE.PTR,
};
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, '');

export async function startSimDns(options: SimDnsOptions = {}): Promise<SimDns> {
  const host = options.host ?? '127.0.0.1';
  const zone = new Map<string, SimDnsRecord[]>();
  const addRecords = (...records: (SimDnsRecord | SimDnsRecord[])[]) => {
    for (const record of records.flat()) {
      const name = normalize(record.name);
      const list = zone.get(name) ?? [];
      list.push({ ...record, name });
      zone.set(name, list);
    }
  };
  addRecords(options.records ?? []);
  for (const name of options.emptyNames ?? []) if (!zone.has(normalize(name))) zone.set(normalize(name), []);

  const handle: Handler = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 0;
    const question = request.questions[0];
    if (!question) return void send(response);
    const name = normalize(question.name);
    if (question.type === Packet.TYPE.ANY || question.class !== Packet.CLASS.IN) {
      response.header.rcode = RCODE_NOTIMP;
      return void send(response);
    }
    if (!zone.has(name)) {
      response.header.rcode = RCODE_NXDOMAIN;
      return void send(response);
    }
    // Follow CNAMEs inside the zone (at most a few hops) like an authoritative server would.
    let current = name;
    for (let hop = 0; hop < 8; hop++) {
      const records = zone.get(current) ?? [];
      const cname = records.find((r) => r.type === 'CNAME');
      if (cname && question.type !== Packet.TYPE.CNAME) {
        response.answers.push(toResource(question.name, cname));
        current = normalize((cname as { domain: string }).domain);
        continue;
      }
      for (const r of records) if (TYPE_CODES[r.type] === question.type) response.answers.push(toResource(hop === 0 ? question.name : current, r));
      break;
    }
    send(response);
  };

  const { udp, tcp, port } = await bindPair(handle, host, options.port ?? 0);

  return {
    host,
    port,
    addRecords,
    removeRecords(name, type) {
      const key = normalize(name);
      if (!type) return void zone.delete(key);
      const left = (zone.get(key) ?? []).filter((r) => r.type !== type);
      if (left.length || zone.has(key)) zone.set(key, left);
    },
    addEmptyName(name) {
      if (!zone.has(normalize(name))) zone.set(normalize(name), []);
    },
    stop: () =>
      Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]).then(() => undefined),
  };
}

function toResource(owner: string, r: SimDnsRecord) {
  const base = { name: owner, type: TYPE_CODES[r.type], class: Packet.CLASS.IN, ttl: r.ttl ?? DEFAULT_TTL };
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: r.address } as never;
    case 'MX':
      return { ...base, exchange: r.exchange, priority: r.priority } as never;
    case 'CNAME':
    case 'PTR':
      return { ...base, domain: r.domain } as never;
    case 'TXT': {
      // A TXT character-string holds at most 255 bytes; long values (DKIM keys) are split.
      const data = (Array.isArray(r.data) ? r.data : [r.data]).flatMap((s) => s.match(/[\s\S]{1,255}/g) ?? ['']);
      return { ...base, data } as never;
    }
  }
}

type Handler = (req: InstanceType<typeof Packet>, send: (r: InstanceType<typeof Packet>) => unknown) => void;

/** Binds UDP, then TCP on the same port; with port 0, tries again if TCP finds it taken. */
async function bindPair(handle: Handler, host: string, port: number) {
  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer((req, send) => handle(req, send as never));
    const tcp = dns2.createTCPServer((req, send) => handle(req, send as never));
    // Malformed queries are dropped; a fuzzing client must not stop the simulator.
    udp.on('requestError', () => {});
    tcp.on('requestError', () => {});
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bound = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: bound };
    } catch (err) {
      udp.close();
      if (port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}
