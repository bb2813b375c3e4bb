import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { channelForms, channelInputs, channelKind } from '../../contracts/notify.js';
import { migrateToLatest, openStore } from '../../platform/store/index.js';
import { channelRegistry } from './registry.js';

describe('channel registry', () => {
  it('has one entry per kind of the contract, with its form and input', () => {
    expect(Object.keys(channelRegistry).sort()).toEqual([...channelKind.options].sort());
    for (const kind of channelKind.options) {
      expect(channelRegistry[kind].kind).toBe(kind);
      expect(channelRegistry[kind].form).toBe(channelForms[kind]);
      expect(channelRegistry[kind].input).toBe(channelInputs[kind]);
      // Every form field is a key of the kind's input.
      for (const field of channelForms[kind].fields) expect(Object.keys(channelInputs[kind].shape)).toContain(field.key);
    }
  });

  it('lists exactly the kinds the channels.kind CHECK of the migrated database allows', async () => {
    const template = process.env.VIGIL_TEST_PGLITE_TEMPLATE;
    const store = await openStore({
      dataDir: 'memory://',
      ...(template && existsSync(template) ? { template: new Blob([readFileSync(template)]) } : {}),
    });
    try {
      await migrateToLatest(store.db);
      const { rows } = await sql<{ def: string }>`
        SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = 'channels'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%kind%'`.execute(store.db);
      expect(rows).toHaveLength(1);
      const allowed = [...rows[0]!.def.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
      expect(allowed).toEqual(Object.keys(channelRegistry).sort());
    } finally {
      await store.close();
    }
  });

  it('redacts secrets in reads and shows them in the create answer', () => {
    const webhook = { url: 'https://example.com/hook', secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0' };
    expect(channelRegistry.webhook.details(webhook, true)).toEqual(webhook);
    expect(channelRegistry.webhook.details(webhook, false)).toEqual({ url: webhook.url, secret: 'whsec_********' });
    const slack = { url: 'https://hooks.slack.com/services/T0/B0/xyz' };
    expect(channelRegistry.slack.details(slack, false)).toEqual({ url: 'https://hooks.slack.com/…' });
    expect(channelRegistry.email.details({ to: ['a@example.com'] }, false)).toEqual({ to: ['a@example.com'] });
  });
});
