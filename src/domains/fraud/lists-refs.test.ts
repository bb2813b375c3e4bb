import { describe, expect, it } from 'vitest';
import { listsUsedIn } from './lists-refs.js';

describe('listsUsedIn', () => {
  it('finds lists read by member and by index, each once, sorted', () => {
    expect(listsUsedIn("shipment.sender_id in lists.blocked_senders || shipment.hs_code in lists['risky_hs'] || shipment.sender_id in lists.blocked_senders")).toEqual([
      'blocked_senders',
      'risky_hs',
    ]);
    expect(listsUsedIn('shipment.destination_country in lists . watched\n && true')).toEqual(['watched']);
    expect(listsUsedIn('lists["countries"].size() > 0')).toEqual(['countries']);
  });

  it('does not count mentions inside strings or comments, nor a field named lists', () => {
    expect(listsUsedIn("shipment.description == 'see lists.secret' // lists.commented\n && true")).toEqual([]);
    expect(listsUsedIn('shipment.description == """lists.triple""" && r"lists.raw" != ""')).toEqual([]);
    expect(listsUsedIn("shipment.attributes.lists.x == 1 && 'it\\'s lists.escaped' != ''")).toEqual([]);
    expect(listsUsedIn("shipment.destination_country in ['NG', 'KP']")).toEqual([]);
  });

  it('survives unterminated literals', () => {
    expect(listsUsedIn("lists.a && 'open")).toEqual(['a']);
    expect(listsUsedIn('lists[')).toEqual([]);
  });
});
