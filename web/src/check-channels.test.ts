import { describe, expect, it } from 'vitest';
import { channelChoiceValue, parseChannelChoice, summarizeChannels, toggleChannel } from './check-channels';

const channels = [
  { id: 'a', name: 'Ops hook', kind: 'webhook' as const },
  { id: 'b', name: '', kind: 'email' as const, disabled_at: '2026-01-01T00:00:00.000Z' },
];

describe('check channels', () => {
  it('reads "*", "" and id lists, and writes them back', () => {
    expect(parseChannelChoice('*')).toEqual({ all: true });
    expect(parseChannelChoice('')).toEqual({ all: false, ids: [] });
    expect(parseChannelChoice('a, b,a')).toEqual({ all: false, ids: ['a', 'b'] });
    expect(channelChoiceValue({ all: true })).toBe('*');
    expect(channelChoiceValue({ all: false, ids: ['a', 'b'] })).toBe('a,b');
    expect(channelChoiceValue({ all: false, ids: [] })).toBe('');
  });

  it('ticking from "all" starts a list, unticking the last leaves none (never all)', () => {
    const one = toggleChannel({ all: true }, 'a', true);
    expect(one).toEqual({ all: false, ids: ['a'] });
    expect(toggleChannel(one, 'b', true)).toEqual({ all: false, ids: ['a', 'b'] });
    expect(channelChoiceValue(toggleChannel(one, 'a', false))).toBe('');
  });

  it('summarizes against the organisation channels, leaving out deleted ones', () => {
    expect(summarizeChannels('*', channels)).toEqual({ kind: 'all', count: 2 });
    expect(summarizeChannels('', channels)).toEqual({ kind: 'none' });
    expect(summarizeChannels('gone', channels)).toEqual({ kind: 'none' });
    expect(summarizeChannels('b,gone,a', channels)).toEqual({
      kind: 'some',
      channels: [
        { id: 'b', label: 'unnamed channel', kind: 'E-mail', disabled: true },
        { id: 'a', label: 'Ops hook', kind: 'Webhook', disabled: false },
      ],
    });
  });
});
