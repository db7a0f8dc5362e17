// A bot's process (scripts/demo/bot-child.ts) that kills itself with SIGKILL the moment its stop pipeline
// starts the mix: the recording is stored as `mixing`, the tracks are closed, and nothing else runs. What a
// crash "during the mix" is, at exactly that moment, however fast this machine mixes.
import { serveBot } from '../../scripts/demo/bot-child.ts';

await serveBot({
  mix: () => {
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => undefined);
  },
});
