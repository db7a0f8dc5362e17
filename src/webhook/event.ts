// What a webhook event says (docs/webhook.md): built from the stored recording, pure, so the body is the same
// bytes on every attempt and after a restart (the outbox stores the serialised body).
import { mayReuse } from '../recording/consent-choice.ts';
import type { Recording, Speaker } from '../storage/store.ts';

export type WebhookEventType = 'recording.ready' | 'recording.failed' | 'recording.deleted';

export type WebhookEvent = {
  type: WebhookEventType;
  deliveryId: string;
  /** ISO 8601: when the event happened (not when this attempt was made). */
  at: string;
  recording: {
    id: string;
    guildId: string;
    /** The voice channel. */
    channelId: string;
    hostId: string;
    startedAt: string;
    stoppedAt: string | null;
    durationMs: number | null;
    /**
     * Who was recorded with their consent; a speaker who withdrew is left out. `reuse`: they allow publishing and
     * reuse (📣); `consentSha256`: the SHA-256 of the consent text they agreed to (null: recorded before it was kept).
     */
    speakers: { id: string; name: string; reuse: boolean; consentSha256: string | null }[];
    /** Markers added while recording (`/note`), in recording order; `atMs` on the recording's clock (the mix's 0). */
    notes: { atMs: number; by: { id: string; name: string }; text: string }[];
    /** A fresh download link with the usual expiry; absent from `recording.deleted`. */
    link?: { url: string; expiresAt: string };
  };
  /** Why the recording failed (`recording.failed` only). */
  error?: string;
};

export type EventFacts = { type: WebhookEventType; deliveryId: string; at: number; link?: { url: string; expiresAt: number } };

/** The mix's length when there is one, else stop minus start; null while the stop time is unknown. */
function durationOf(recording: Recording): number | null {
  if (recording.mix) return Math.round(recording.mix.durationMs);
  return recording.stoppedAt === undefined ? null : recording.stoppedAt - recording.startedAt;
}

/** One entry per person (a speaker who rejoined has several tracks). */
function consenting(recording: Recording): WebhookEvent['recording']['speakers'] {
  const byId = new Map<string, Speaker>();
  for (const s of recording.speakers) if (s.withdrawnAt === undefined && !byId.has(s.userId)) byId.set(s.userId, s);
  return [...byId].map(([id, s]) => ({ id, name: s.name, reuse: mayReuse(s), consentSha256: s.agreed?.sha256 ?? null }));
}

const iso = (ms: number) => new Date(ms).toISOString();

export function webhookEvent(recording: Recording, facts: EventFacts): WebhookEvent {
  return {
    type: facts.type,
    deliveryId: facts.deliveryId,
    at: iso(facts.at),
    recording: {
      id: recording.id,
      guildId: recording.guildId,
      channelId: recording.channelId,
      hostId: recording.hostId,
      startedAt: iso(recording.startedAt),
      stoppedAt: recording.stoppedAt === undefined ? null : iso(recording.stoppedAt),
      durationMs: durationOf(recording),
      speakers: consenting(recording),
      notes: [...(recording.notes ?? [])]
        .sort((a, b) => a.at - b.at)
        .map((n) => ({ atMs: Math.round(n.at), by: { id: n.by, name: n.byName }, text: n.text })),
      ...(facts.link ? { link: { url: facts.link.url, expiresAt: iso(facts.link.expiresAt) } } : {}),
    },
    ...(facts.type === 'recording.failed' ? { error: recording.error ?? 'unknown' } : {}),
  };
}

/** The event a finished stop makes: ready, or failed. */
export function finishedType(recording: Recording): WebhookEventType {
  return recording.state === 'ready' ? 'recording.ready' : 'recording.failed';
}
