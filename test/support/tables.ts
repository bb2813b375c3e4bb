/**
 * The hand-written table types that test/table-types.test.ts checks against the migrated database:
 * every domain's own tables, together. Imported from the domains' `tables.ts` files rather than their
 * index files, so the check compiles the table declarations and not each domain's whole code.
 */
import type { AccountsTables } from '../../src/domains/accounts/tables.js';
import type { AlertingTables } from '../../src/domains/alerting/tables.js';
import type { JobsTables } from '../../src/domains/jobs/tables.js';
import type { LogsTables } from '../../src/domains/logs/tables.js';
import type { NotifyTables } from '../../src/domains/notify/tables.js';
import type { RulesTables } from '../../src/domains/rules/tables.js';
import type { FraudTables } from '../../src/domains/fraud/tables.js';
import type { ShipmentsTables } from '../../src/domains/shipments/tables.js';
import type { StreamTables } from '../../src/domains/stream/tables.js';
import type { WatchersTables } from '../../src/domains/watchers/tables.js';

export type AllTables = AccountsTables & AlertingTables & JobsTables & LogsTables & NotifyTables & FraudTables & RulesTables & ShipmentsTables & StreamTables & WatchersTables;
