// A room's tracks and a full disk: the room is "disk full" from the moment its first track cannot be written
// until every track is written again, and those spans are what the host is told were lost. Pure: the recorder
// feeds it each track's changes (speaker-track.ts onDiskFull) on the recording clock.

/** Recording ms; `toMs` is absent while the disk is still full. */
export type DiskFullSpan = { fromMs: number; toMs?: number };

export type DiskFullChange = { full: boolean; atMs: number };

export class DiskFullWatch {
  #full = new Set<string>();
  #spans: DiskFullSpan[] = [];

  /**
   * Track `key` is (or is no longer) held up by a full disk. Returns the room's change, if this is one: 'full'
   * for the first track held up, 'ok' when the last one is written again (or closed).
   */
  change(key: string, full: boolean, atMs: number): DiskFullChange | undefined {
    const before = this.#full.size > 0;
    if (full) this.#full.add(key);
    else this.#full.delete(key);
    const after = this.#full.size > 0;
    if (before === after) return undefined;
    if (after) this.#spans.push({ fromMs: atMs });
    else this.#spans[this.#spans.length - 1]!.toMs = atMs;
    return { full: after, atMs };
  }

  get full(): boolean {
    return this.#full.size > 0;
  }

  spans(): readonly DiskFullSpan[] {
    return this.#spans.map((s) => ({ ...s }));
  }
}
