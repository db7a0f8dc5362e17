// "Forget me" (issue 12): a speaker's own request to be taken out of a recording after it stopped. Their track,
// its held journal and every format made of it are deleted; the mix and the levelled mix are made again from the
// others' tracks (the formats of the mixes cleared); their consent events become one `forgotten` event that
// names nobody, their notes are dropped (a note's text is their words), and the webhook events still waiting that
// name them are dropped. The receipt then says a speaker's track was removed at their request, and when; nothing
// else of theirs is kept. The host is told the recording changed, not who asked.
//
// The request is stored (Recording.forgetting) before anything is deleted, so a restart finishes it
// (completeAll at start-up); every step can run again. A recording still being stopped or mixed is done once it
// is ready or failed (complete, called when its stop is over). One recording's requests run one at a time.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ifThere } from '../storage/if-there.ts';
import { levelledMixFileName, mixFileName } from '../storage/layout.ts';
import { deletionTime } from '../storage/retention.ts';
import { writePrivateFile } from '../storage/private-files.ts';
import { BUSY_STATES, type Recording, type Store } from '../storage/store.ts';
import { withAudio } from './after-stop/mix.ts';
import { addChapters } from './after-stop/mix-chapters.ts';
import type { MixFunction } from './after-stop/step.ts';
import { buildReceipt } from './receipt.ts';
import { findSpeaker } from './room-speakers.ts';
import { trackNumbers } from './track-numbers.ts';

export type ForgetDeps = {
  store: Store;
  log: Logger;
  config: Pick<Config, 'mix' | 'retention'>;
  mix: MixFunction;
  /** Epoch ms. */
  now: () => number;
  /** Resolves once nothing is being made from the recording's audio any more (the levelled mix, formats on request). */
  quiesce: (recordingId: string) => Promise<void>;
  /** DMs the host; its failure is logged, it never undoes the removal. */
  tellHost: (recording: Recording, text: string) => Promise<unknown>;
};

/**
 * What became of a request: `unknown` (no such recording, or none of theirs: the same answer either way),
 * `recording` (still being recorded: nothing stored), `in-progress` (asked already), `queued` (stored; done once
 * the recording is ready), `done`, `failed` (stored; the next start tries again).
 */
export type ForgetResult = 'unknown' | 'recording' | 'in-progress' | 'queued' | 'done' | 'failed';

export type ForgetSpeaker = {
  request(recordingId: string, userId: string): Promise<ForgetResult>;
  /** Carries out the stored requests of a recording that is not busy (its stop is over). */
  complete(recordingId: string): Promise<void>;
  /** At start-up: every stored request a previous process left. */
  completeAll(): Promise<void>;
};

const hostToldText = (id: string): string =>
  `Your recording \`${id}\` changed: a speaker asked to be removed from it. Their track is deleted and the mix is made again ` +
  'without them; your link shows the recording as it is now.';

export function createForgetSpeaker(deps: ForgetDeps): ForgetSpeaker {
  const { store, log } = deps;
  const chains = new Map<string, Promise<void>>();

  /** Runs `work` after whatever this recording's requests are doing; never rejects (failures are logged). */
  function serially(recordingId: string, work: () => Promise<void>): Promise<void> {
    const next = (chains.get(recordingId) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      log.error({ err: error, recordingId }, 'could not remove a speaker at their request; the next start tries again');
    });
    chains.set(recordingId, next);
    void next.then(() => {
      if (chains.get(recordingId) === next) chains.delete(recordingId);
    });
    return next;
  }

  async function carryOut(recordingId: string): Promise<void> {
    for (;;) {
      const recording = await store.getRecording(recordingId);
      const request = recording?.forgetting?.[0];
      if (!recording || !request || BUSY_STATES.includes(recording.state)) return;
      await forgetOne(recording, request);
    }
  }

  async function forgetOne(recording: Recording, request: { userId: string; requestedAt: number }): Promise<void> {
    const { id } = recording;
    const { layout } = store;
    await deps.quiesce(id);
    const speaker = findSpeaker(recording, request.userId);
    const others = recording.speakers.filter((s) => s.userId !== request.userId);
    const number = speaker && trackNumbers(recording)[recording.speakers.indexOf(speaker)];
    // The old mixes go before anything is made again: from here no file holds the old mix.
    const mixes = [recording.mix?.file, recording.levelledMix?.state === 'ready' ? recording.levelledMix.file : undefined];
    for (const file of mixes) if (file) await rm(layout.file(id, file), { force: true });
    const trackName = speaker && path.basename(speaker.trackFile, path.extname(speaker.trackFile));
    // Every mix made on request (mix., mix-levelled., mix-publishable-<who>.: catalog.ts cache names all start
    // with "mix", a track's never does) may hold them.
    await removeFormats(layout.formatsDir(id), ['mix', ...(trackName ? [`${trackName}.`] : [])]);
    if (speaker) {
      await rm(layout.file(id, speaker.trackFile), { force: true });
      await rm(`${layout.file(id, speaker.trackFile)}.held`, { force: true });
    }

    const notes = (recording.notes ?? []).filter((n) => n.by !== request.userId);
    const remade = await mixAgain({ ...recording, speakers: others, notes });

    await store.rewriteConsentEvents(id, (events) => {
      const logged = events.some((e) => e.event === 'forgotten' && e.at === request.requestedAt);
      const kept = events.filter((e) => e.userId !== request.userId);
      return logged ? kept : [...kept, { recordingId: id, event: 'forgotten', at: request.requestedAt }];
    });
    const after = await store.updateRecording(id, (r) => {
      const next: Recording = { ...r, speakers: r.speakers.filter((s) => s.userId !== request.userId) };
      if (number !== undefined && !(r.forgotten ?? []).some((f) => f.track === number)) {
        next.forgotten = [...(r.forgotten ?? []), { track: number, at: request.requestedAt }];
      }
      const pending = (r.forgetting ?? []).filter((p) => p.userId !== request.userId);
      if (pending.length > 0) next.forgetting = pending;
      else delete next.forgetting;
      if (r.notes) next.notes = r.notes.filter((n) => n.by !== request.userId);
      delete next.mix;
      delete next.levelledMix;
      return { ...next, ...remade };
    });
    await writeReceipt(after);
    for (const entry of await store.pendingWebhooks()) {
      if (entry.recordingId === id && entry.body.includes(request.userId)) await store.removeWebhook(entry.id);
    }
    await store.compact();
    log.info({ recordingId: id, track: number }, 'a speaker was removed from a recording at their request');
    if (recording.hostId !== request.userId) {
      await deps
        .tellHost(after, hostToldText(id))
        .catch((error: unknown) => log.warn({ err: error, recordingId: id }, 'could not tell the host'));
    }
  }

  /** The mixes of what is left, made from the tracks; nothing when nobody is left in it or there was no mix to remake. */
  async function mixAgain(recording: Recording): Promise<Pick<Recording, 'mix' | 'levelledMix'>> {
    if (recording.state !== 'ready') return {};
    const ctx = { layout: store.layout, recordingId: recording.id, log, recording: () => recording };
    const inputs = (
      await withAudio(
        ctx,
        recording.speakers.filter((s) => s.includeInMix),
      )
    ).map((s) => ({
      path: store.layout.file(recording.id, s.trackFile),
      label: s.name,
    }));
    if (inputs.length === 0) return {};
    const format = recording.mix?.format ?? deps.config.mix.format;
    const make = async (file: string, level: boolean) => {
      const result = await deps.mix({ inputs, output: store.layout.file(recording.id, file), format, ...(level ? { level } : {}) });
      const made = { file, format, durationMs: Math.round(result.durationSamples / 48) };
      await addChapters(ctx, made);
      return made;
    };
    const mix = await make(mixFileName(format), false);
    if (!deps.config.mix.levelling || !recording.levelledMix) return { mix };
    return { mix, levelledMix: { state: 'ready', ...(await make(levelledMixFileName(format), true)) } };
  }

  async function writeReceipt(recording: Recording): Promise<void> {
    const retentionDays = deps.config.retention.days;
    const events = await store.consentEvents(recording.id);
    const receipt = buildReceipt({ recording, events, deletionAt: deletionTime(recording, retentionDays), retentionDays });
    await writePrivateFile(store.layout.receiptFile(recording.id), receipt);
  }

  return {
    async request(recordingId, userId) {
      const recording = await store.getRecording(recordingId);
      const pending = recording?.forgetting?.some((p) => p.userId === userId) ?? false;
      if (!recording || (!findSpeaker(recording, userId) && !pending)) return 'unknown';
      if (pending) return 'in-progress';
      if (recording.state === 'recording') return 'recording';
      let added = false;
      await store.updateRecording(recordingId, (r) => {
        if (r.forgetting?.some((p) => p.userId === userId) || !findSpeaker(r, userId)) return r;
        added = true;
        return { ...r, forgetting: [...(r.forgetting ?? []), { userId, requestedAt: deps.now() }] };
      });
      if (!added) return 'in-progress';
      if (BUSY_STATES.includes(recording.state)) return 'queued';
      await serially(recordingId, () => carryOut(recordingId));
      const now = await store.getRecording(recordingId);
      return now?.forgetting?.some((p) => p.userId === userId) ? 'failed' : 'done';
    },
    complete: (recordingId) => serially(recordingId, () => carryOut(recordingId)),
    async completeAll() {
      for (const recording of await store.listRecordings()) {
        if (recording.forgetting?.length) await serially(recording.id, () => carryOut(recording.id));
      }
    },
  };
}

/** Removes the files of the formats folder whose names start with one of `prefixes` (made or half-made formats). */
async function removeFormats(dir: string, prefixes: readonly string[]): Promise<void> {
  const names = (await ifThere(readdir(dir))) ?? [];
  for (const name of names) if (prefixes.some((p) => name.startsWith(p))) await rm(path.join(dir, name), { force: true });
}
