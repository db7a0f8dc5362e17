// `notify on|off`: whether the sender is DM'd each time a recording that holds their voice stops (kept in the store).
import type { DmCommand } from './dm-command.ts';

export const notify: DmCommand<{ on: boolean }> = {
  verb: 'notify',
  usage: '`notify off` (or `on`) for whether I DM you when a recording with your voice stops',
  parse: (words) => {
    const [choice, ...rest] = words.map((w) => w.toLowerCase());
    return rest.length === 0 && (choice === 'on' || choice === 'off') ? { on: choice === 'on' } : undefined;
  },
  run: ({ on }, { speakers, userId }) => speakers.setNotify(userId, on),
};
