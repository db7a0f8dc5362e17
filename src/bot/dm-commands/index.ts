// Every direct-message command, in the order the help lists them. A new command is a module here and a line below.
import { listed, type ListedDmCommand } from './dm-command.ts';
import { download } from './download.ts';
import { forget } from './forget.ts';
import { mine } from './mine.ts';
import { myTrack } from './my-track.ts';
import { notify } from './notify.ts';
import { reuse } from './reuse.ts';

export const DM_COMMANDS: readonly ListedDmCommand[] = [
  listed(download),
  listed(mine),
  listed(myTrack),
  listed(reuse),
  listed(forget),
  listed(notify),
];

export { DM_LINK_REFUSED, DM_NOT_YOURS } from './download.ts';
export type { DmContext, DmDeps, ListedDmCommand } from './dm-command.ts';
