// The SQLite checkpoint thread (see wal-checkpointer.ts): its own connection to the database
// file, and a PASSIVE checkpoint each time it is asked, answering whether it worked. Plain
// JavaScript so that it starts without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

// Named for `top -H`, `ps -L` and the benchmark; not Linux, it keeps its name.
try {
  writeFileSync('/proc/thread-self/comm', 'estafeta-ckpt');
} catch {}

const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err.message });
  }
});
