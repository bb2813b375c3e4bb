import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_log_events.js';
import * as m003 from './003_traffic_stats.js';
import * as m004 from './004_log_rejections.js';
import * as m005 from './005_login_throttle.js';
import * as m006 from './006_healthchecks.js';
import * as m007 from './007_stream_sources.js';

/** Every migration, in order. Names are stored in `kysely_migration`; never rename one that shipped. */
export const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_log_events': m002,
  '003_traffic_stats': m003,
  '004_log_rejections': m004,
  '005_login_throttle': m005,
  '006_healthchecks': m006,
  '007_stream_sources': m007,
};
