/**
 * `npm run bench -- <name>`: runs one benchmark (or all with no name) and prints figures and ratios.
 * Benchmarks target loopback only and stop by themselves.
 */
import { benchAlerts } from './alerts.js';
import { benchArchive } from './archive.js';
import { benchFraud } from './fraud.js';
import { benchIndexes } from './indexes.js';
import { benchIngest } from './ingest.js';
import { benchMonitor } from './monitor.js';
import { benchPings } from './pings.js';

const benches: Record<string, () => Promise<void>> = { pings: benchPings, monitor: benchMonitor, archive: benchArchive, ingest: benchIngest, indexes: benchIndexes, alerts: benchAlerts, fraud: benchFraud };

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in benches));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  console.log(`\n### ${name}`);
  await benches[name]!();
}
