/**
 * The hand-written table types that test/table-types.test.ts checks against the migrated database:
 * every domain's own tables, together.
 */
import type { AccountsTables } from '../../src/domains/accounts/index.js';
import type { AlertingTables } from '../../src/domains/alerting/index.js';
import type { JobsTables } from '../../src/domains/jobs/index.js';
import type { LogsTables } from '../../src/domains/logs/index.js';
import type { NotifyTables } from '../../src/domains/notify/index.js';
import type { StreamTables } from '../../src/domains/stream/index.js';

export type AllTables = AccountsTables & AlertingTables & JobsTables & LogsTables & NotifyTables & StreamTables;
