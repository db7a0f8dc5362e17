// Keeps a room's voice connection alive: the rejoin pattern of the discord.js voice guide, reporting what
// happened so the room can tell the host. Tracks need nothing from here: audio is placed by the recording's
// clock, so whatever was missed while away is silence of the right length.
import {
  entersState,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import type { Logger } from '../log.ts';

export type VoiceChange =
  | { status: 'disconnected' }
  | { status: 'reconnected'; afterMs: number }
  /**
   * Gave up (or someone else destroyed the connection): the room cannot hear anyone any more. `daveRequired`:
   * Discord refused this client's end-to-end encryption (4017), which no rejoin can change.
   */
  | { status: 'lost'; error: string; daveRequired?: true };

export interface RejoinPolicy {
  /** How long a disconnect may take to turn into a reconnect by itself (channel move, library rejoin). */
  signalMs: number;
  /** How long a reconnect may take to become ready. */
  readyMs: number;
  /** Our own rejoin() attempts before giving up; waits attempt × backoffMs before each. */
  attempts: number;
  backoffMs: number;
}

const DEFAULT_REJOIN: RejoinPolicy = { signalMs: 5_000, readyMs: 20_000, attempts: 5, backoffMs: 1_000 };

/** Discord closes a voice connection with 4017 when the call needs a DAVE (E2EE) version this client lacks. */
const DAVE_REQUIRED_CLOSE_CODE = 4017;

export const DAVE_REQUIRED_MESSAGE =
  'Discord requires end-to-end encryption (DAVE) in this voice channel and refused my voice connection ' +
  '(close code 4017): this version of the bot cannot take part in it. Rejoining would be refused the same way, so I stopped trying.';

/** Discord refused the voice connection with 4017: nothing can be recorded with this client. */
export class DaveRequiredError extends Error {
  constructor() {
    super(DAVE_REQUIRED_MESSAGE);
    this.name = 'DaveRequiredError';
  }
}

/** Rejects with DaveRequiredError as soon as the connection is refused with 4017; `dispose` stops watching. */
export function refusedForDave(connection: VoiceConnection): { refused: Promise<never>; dispose: () => void } {
  let onState: ((old: VoiceConnectionState, state: VoiceConnectionState) => void) | undefined;
  const refused = new Promise<never>((_resolve, reject) => {
    onState = (_old, state) => {
      if (isDaveRequired(state)) reject(new DaveRequiredError());
    };
    connection.on('stateChange', onState);
  });
  refused.catch(() => undefined);
  return { refused, dispose: () => onState && connection.off('stateChange', onState) };
}

/** Whether a connection state is Discord's final "E2EE/DAVE protocol required" refusal. */
function isDaveRequired(state: VoiceConnectionState): boolean {
  return (
    state.status === VoiceConnectionStatus.Disconnected &&
    state.reason === VoiceConnectionDisconnectReason.WebSocketClose &&
    state.closeCode === DAVE_REQUIRED_CLOSE_CODE
  );
}

/**
 * Logs what the connection reports as an 'error' (an undecodable DAVE message, a UDP failure). The library
 * emits them on the VoiceConnection, and an EventEmitter with no 'error' listener throws: the process would exit.
 */
export function logVoiceErrors(connection: VoiceConnection, log: Logger): void {
  connection.on('error', (err) => log.warn({ err }, 'voice connection reported an error'));
}

export interface VoiceWatch {
  /** Stops watching; from now on a disconnect or destroy is the owner's business. */
  dispose(): void;
}

export function watchVoice(
  connection: VoiceConnection,
  opts: { log: Logger; onChange: (change: VoiceChange) => void; policy?: RejoinPolicy; now?: () => number },
): VoiceWatch {
  const policy = opts.policy ?? DEFAULT_REJOIN;
  const now = opts.now ?? (() => performance.now());
  const abort = new AbortController();
  let disconnectedAt: number | undefined;
  let recovering = false;

  const lose = (error: string, daveRequired = false): void => {
    if (abort.signal.aborted) return;
    abort.abort();
    connection.off('stateChange', onState);
    opts.log.error({ error }, 'voice connection lost');
    if (connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
    opts.onChange(daveRequired ? { status: 'lost', error, daveRequired } : { status: 'lost', error });
  };

  const failed = (error: unknown): void => lose(error instanceof Error ? error.message : String(error));

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  /** Runs one recovery at a time: `recovering` keeps state changes meanwhile from starting another. */
  async function recovery(run: () => Promise<void>): Promise<void> {
    recovering = true;
    try {
      await run();
    } finally {
      recovering = false;
    }
  }

  async function afterDisconnect(state: VoiceConnectionState & { status: VoiceConnectionStatus.Disconnected }): Promise<void> {
    const kicked = state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014;
    if (kicked) {
      // 4014 is also what a channel move looks like: give Discord a moment to send us the new server.
      const resumed = await Promise.race([
        entersState(connection, VoiceConnectionStatus.Signalling, policy.signalMs),
        entersState(connection, VoiceConnectionStatus.Connecting, policy.signalMs),
      ]).then(
        () => true,
        () => false,
      );
      if (resumed || abort.signal.aborted) return;
    }
    await rejoinUntilReady();
  }

  /**
   * The library reconnects by itself after most voice websocket closes: a resume, or after 4006 a rejoin
   * through the main gateway. That join request is lost if the gateway is itself reconnecting at that moment,
   * and nothing ever answers it: the connection would wait in Signalling for good. So a connection that is
   * not Ready again within readyMs is rejoined here (and one that ends Disconnected is recovered as such).
   * Upstream: connections left in Signalling for good are discordjs/discord.js#9185 (closed without a library
   * fix) and #11553 (open, 2026); @discordjs/voice 0.19.2 has no timeout of its own for that state.
   */
  async function afterLeavingReady(): Promise<void> {
    await Promise.race([
      entersState(connection, VoiceConnectionStatus.Ready, policy.readyMs),
      entersState(connection, VoiceConnectionStatus.Disconnected, policy.readyMs),
    ]).catch(() => undefined);
    const state = connection.state;
    if (abort.signal.aborted || state.status === VoiceConnectionStatus.Ready) return;
    if (state.status === VoiceConnectionStatus.Disconnected) return afterDisconnect(state);
    opts.log.warn({ status: state.status }, 'the voice connection did not come back by itself');
    await rejoinUntilReady();
  }

  /** Our own rejoin() attempts; a join request still unanswered (Signalling) is sent again. */
  async function rejoinUntilReady(): Promise<void> {
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      if (abort.signal.aborted) return;
      const status = connection.state.status;
      if (status === VoiceConnectionStatus.Disconnected || status === VoiceConnectionStatus.Signalling) {
        opts.log.warn({ attempt }, 'rejoining the voice channel');
        connection.rejoin();
      }
      const ready = await entersState(connection, VoiceConnectionStatus.Ready, policy.readyMs).then(
        () => true,
        () => false,
      );
      if (ready || abort.signal.aborted) return;
      await wait(attempt * policy.backoffMs);
    }
    lose(`could not rejoin the voice channel after ${policy.attempts} attempts`);
  }

  const onState = (old: VoiceConnectionState, state: VoiceConnectionState): void => {
    if (abort.signal.aborted) return;
    if (state.status === VoiceConnectionStatus.Destroyed) {
      lose('the voice connection was destroyed');
      return;
    }
    if (isDaveRequired(state)) {
      lose(DAVE_REQUIRED_MESSAGE, true);
      return;
    }
    if (state.status === VoiceConnectionStatus.Disconnected && old.status !== VoiceConnectionStatus.Disconnected) {
      if (disconnectedAt === undefined) {
        disconnectedAt = now();
        opts.onChange({ status: 'disconnected' });
      }
      if (!recovering) recovery(() => afterDisconnect(state)).catch(failed);
      return;
    }
    // The library reconnects by itself after most voice websocket closes (Ready → Signalling → … → Ready).
    if (state.status !== VoiceConnectionStatus.Ready && old.status === VoiceConnectionStatus.Ready) {
      disconnectedAt ??= now();
      opts.onChange({ status: 'disconnected' });
      if (!recovering) recovery(afterLeavingReady).catch(failed);
    }
    if (state.status === VoiceConnectionStatus.Ready && disconnectedAt !== undefined) {
      const afterMs = now() - disconnectedAt;
      disconnectedAt = undefined;
      opts.log.info({ afterMs: Math.round(afterMs) }, 'voice connection restored');
      opts.onChange({ status: 'reconnected', afterMs });
    }
  };

  connection.on('stateChange', onState);
  return {
    dispose() {
      abort.abort();
      connection.off('stateChange', onState);
    },
  };
}
