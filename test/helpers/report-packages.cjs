// Preloaded with --require into a CLI process by test/cli.test.ts: on exit, writes to stderr
// the npm packages the process loaded (CommonJS ones, as fastify, pino, kysely's drivers
// are), so the test can check that a short command does not load the platform.
process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
    if (m) names.add(m[1]);
  }
  process.stderr.write(`\nloaded packages: ${[...names].sort().join(' ')}\n`);
});
