/**
 * The usage text of `estafeta sim`, apart from the simulator so that the CLI can show its
 * help without loading the simulator (command.ts parses the options it lists).
 */
export const SIM_COMMAND_USAGE = `Usage: estafeta sim [options]
  --dns-port N        DNS port, UDP and TCP (default 5300; 0 = any free port)
  --smtp-port N       SMTP port of every simulated MX host (default 2525)
  --http-port N       port of the counts endpoint (default 8026)
  --host ADDR         address the DNS and HTTP servers bind (default 127.0.0.1)
  --profiles FILE     provider profiles (default src/sim/profiles.yaml)
  --inbound HOST:PORT deliver DSNs, complaints and auto-replies there (default: keep in memory)
  --async-delay-ms N  delay before a DSN / complaint / auto-reply is sent (default 1000)
  --engagement        simulated recipients open, click and unsubscribe through the
                      tracking URLs of accepted mail, privacy proxies and scanners too
                      (default off; the demo turns it on)
  --time-scale X      multiply the engagement delays, e.g. 0.01 (default 1: real time;
                      implies --engagement)
  --json              print one JSON line instead of text
  --log-level LEVEL   pino level for the simulator's log on stderr (default warn)`;
