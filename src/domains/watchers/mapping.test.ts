import { describe, expect, it } from 'vitest';
import { orgOf, shipmentOf } from './mapping.js';

describe('watched row → shipment', () => {
  it('bridges types, nests dotted fields and leaves NULL columns out', () => {
    expect(
      shipmentOf({
        external_id: 42,
        created_at: '2026-05-01T12:00:00+00:00',
        declared_value: '12.50',
        pieces: 2,
        'dimensions_cm.length': 30,
        'dimensions_cm.width': '20',
        'attributes.vip': true,
        sender_id: null,
        attributes: { a: 1 },
      }),
    ).toEqual({ external_id: '42', created_at: '2026-05-01T12:00:00+00:00', declared_value: 12.5, pieces: 2, dimensions_cm: { length: 30, width: 20 }, attributes: { a: 1, vip: true } });
    // Not a number: passed on, the intake refuses it naming the field.
    expect(shipmentOf({ declared_value: 'abc' })).toEqual({ declared_value: 'abc' });
  });

  it('finds the organisation of a row', () => {
    expect(orgOf('o-1', null, undefined)).toEqual({ orgId: 'o-1' });
    expect(orgOf(null, { acme: 'o-2', '7': 'o-3' }, 'acme')).toEqual({ orgId: 'o-2' });
    expect(orgOf(null, { acme: 'o-2', '7': 'o-3' }, 7)).toEqual({ orgId: 'o-3' });
    expect(orgOf(null, { acme: 'o-2' }, 'other')).toEqual({ error: 'value "other" is not in org_map' });
    expect(orgOf(null, { acme: 'o-2' }, null)).toMatchObject({ error: expect.stringMatching(/empty/) });
  });
});
