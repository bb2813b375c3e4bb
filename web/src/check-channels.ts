import { channelForms, type ChannelKind } from '@contracts/notify.js';

/**
 * A check's `channels` as the form and the check page handle it. The API stores "*" (every channel
 * of the organisation, now and later), "" (none) or comma-separated channel ids; the form offers
 * "all channels" or a checklist, so a list that became empty reads as "none", never as "all".
 */

export type ChannelChoice = { all: true } | { all: false; ids: string[] };

/** The choice a stored `channels` value stands for. */
export function parseChannelChoice(value: string): ChannelChoice {
  if (value.trim() === '*') return { all: true };
  return { all: false, ids: [...new Set(value.split(',').map((id) => id.trim()).filter(Boolean))] };
}

/** The `channels` value to send for a choice. */
export function channelChoiceValue(choice: ChannelChoice): string {
  return choice.all ? '*' : choice.ids.join(',');
}

/** Ticks or unticks one channel of a checklist choice. */
export function toggleChannel(choice: ChannelChoice, id: string, on: boolean): ChannelChoice {
  const ids = choice.all ? [] : choice.ids.filter((i) => i !== id);
  return { all: false, ids: on ? [...ids, id] : ids };
}

interface ChannelLike {
  id: string;
  name: string;
  kind: ChannelKind;
  disabled_at?: string | null;
}

/** A channel as the check page lists it: its name (or "unnamed") and the kind's display name. */
export interface ShownChannel {
  id: string;
  label: string;
  kind: string;
  /** Vigil disabled it (its deliveries kept failing): nothing is sent to it until re-enabled. */
  disabled: boolean;
}

export type ChannelSummary =
  | { kind: 'all'; count: number }
  | { kind: 'none' }
  | { kind: 'some'; channels: ShownChannel[] };

const shown = (c: ChannelLike): ShownChannel => ({ id: c.id, label: c.name || 'unnamed channel', kind: channelForms[c.kind].label, disabled: Boolean(c.disabled_at) });

/**
 * What a check's `channels` means against the organisation's channels today. Ids of channels
 * deleted since are left out (the notifier ignores them too).
 */
export function summarizeChannels(value: string, channels: readonly ChannelLike[]): ChannelSummary {
  const choice = parseChannelChoice(value);
  if (choice.all) return { kind: 'all', count: channels.length };
  const byId = new Map(channels.map((c) => [c.id, c]));
  const chosen = choice.ids.flatMap((id) => {
    const c = byId.get(id);
    return c ? [shown(c)] : [];
  });
  return chosen.length === 0 ? { kind: 'none' } : { kind: 'some', channels: chosen };
}
