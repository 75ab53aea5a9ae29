/**
 * Tells which proxy or scanner made a tracking request, from its User-Agent and source
 * address, by the agents of policy/machine-engagement.yaml. Only what one request shows:
 * timing (a click seconds after sending, several links within a second) is judged by the
 * recorder and by the feedback service, which know the other events.
 */
import { BlockList, isIP } from 'node:net';
import type { MachineAgent } from '../config/machine-engagement.ts';

export interface AgentMatch {
  name: string;
  kind: MachineAgent['kind'];
}

export interface AgentMatcher {
  match(userAgent: string, ip: string): AgentMatch | null;
}

// User agents are cut before matching so that no operator pattern runs on a huge header.
const MAX_USER_AGENT = 512;
const MAX_REMEMBERED = 20_000;

export function agentMatcher(agents: MachineAgent[]): AgentMatcher {
  const compiled = agents.map((a) => ({ a, ranges: a.ranges.length ? blockList(a.ranges) : null }));
  // The same client fetches many pixels and links (a proxy, a scanner, a person's browser):
  // its answer is kept, so a burst costs a map lookup instead of the patterns and ranges.
  const seen = new Map<string, AgentMatch | null>();
  const matchOnce: AgentMatcher['match'] = (userAgent, ip) => {
    const key = `${ip}\n${userAgent.slice(0, MAX_USER_AGENT)}`;
    const known = seen.get(key);
    if (known !== undefined) return known;
    const found = match(userAgent, ip);
    if (seen.size >= MAX_REMEMBERED) seen.clear();
    seen.set(key, found);
    return found;
  };
  return { match: matchOnce };

  function match(userAgent: string, ip: string): AgentMatch | null {
    const ua = userAgent.slice(0, MAX_USER_AGENT);
    const addr = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(addr);
    for (const { a, ranges } of compiled) {
      if (a.userAgent && !a.userAgent.test(ua)) continue;
      if (ranges && (family === 0 || !ranges.check(addr, family === 4 ? 'ipv4' : 'ipv6'))) continue;
      return { name: a.name, kind: a.kind };
    }
    return null;
  }
}

function blockList(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const r of ranges) {
    const [addr, bits] = r.split('/');
    list.addSubnet(addr, Number(bits), isIP(addr) === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}
