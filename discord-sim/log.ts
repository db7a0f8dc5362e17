/** One ordered record of everything the bot did against the stand-in, for tests to assert on. */
export type SimLogEntry =
  | {
      kind: 'rest';
      seq: number;
      at: number;
      method: string;
      /** route template, e.g. `/channels/:channel_id/messages` */
      route: string;
      path: string;
      query: Record<string, string>;
      body: unknown;
      files: { name: string; size: number }[];
      status: number;
      response: unknown;
      channelId?: string;
      userId?: string;
      interactionId?: string;
    }
  | { kind: 'gateway-in'; seq: number; at: number; op: number; d: unknown }
  | { kind: 'gateway-out'; seq: number; at: number; t: string; d: unknown }
  | { kind: 'voice-in'; seq: number; at: number; op: number; d: unknown }
  | { kind: 'voice'; seq: number; at: number; event: string; detail: Record<string, unknown> }
  /** sim.rateLimitBurst began: authenticated routes (or those under `routes`) answer 429 for `forMs`. */
  | { kind: 'rest-burst'; seq: number; at: number; forMs: number; retryAfterMs: number; routes: readonly string[] | null }
  /** The voice server's DAVE group management (dave-group.ts): proposals, commits, transitions, recoveries. */
  | { kind: 'dave'; seq: number; at: number; event: string; detail: Record<string, unknown> };

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq' | 'at'> : never;

export class SimLog {
  readonly entries: SimLogEntry[] = [];
  private readonly listeners = new Set<(entry: SimLogEntry) => void>();

  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  add(entry: WithoutSeq<SimLogEntry>): SimLogEntry {
    const full = { ...entry, seq: this.entries.length, at: this.now() };
    this.entries.push(full);
    for (const listener of this.listeners) listener(full);
    return full;
  }

  onEntry(listener: (entry: SimLogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  rest(filter: { method?: string; route?: string } = {}): Extract<SimLogEntry, { kind: 'rest' }>[] {
    return this.entries.filter(
      (e): e is Extract<SimLogEntry, { kind: 'rest' }> =>
        e.kind === 'rest' && (!filter.method || e.method === filter.method) && (!filter.route || e.route === filter.route),
    );
  }
}
