/**
 * The voice server's side of DAVE for one channel: who should be in the call's MLS group, proposing the changes
 * as the external sender, taking the epoch's first valid commit, announcing it (op 29) and welcoming newcomers
 * (op 30), then executing the transition (op 22) once every member is ready (op 23), and recovering a member
 * that says it could not follow (op 31: remove it and add it again).
 *
 * The design is a reconciliation loop: the group has one committed membership (`leaves`, by MLS leaf index) and
 * the channel has the participants that *should* be in it, each with its latest key package. One change is in
 * flight at a time; when it is executed the loop compares the two again. Joins, leaves, reconnects and recoveries
 * all become the same thing: Remove and Add proposals for the difference.
 *
 * Members are of two kinds. A bot is a real @discordjs/voice client over the voice WebSocket. A simulated
 * speaker is a real DAVE client (@snazzah/davey `DAVESession`) living in this process, which processes the
 * proposals and commits like any member. A simulated member applies a commit or welcome when the transition is
 * *executed*, because that is when a DAVE sender switches to the new epoch's keys (protocol.md, "transitions");
 * davey itself switches its encryptor at once, so applying it earlier would send frames a receiver that has not
 * processed the commit yet cannot decrypt.
 */
import { createRequire } from 'node:module';
import type { DAVESession as DaveySession } from '@snazzah/davey';
import { VoiceOpcodes, type VoiceDaveExecuteTransitionData } from 'discord-api-types/voice/v8';
import type { SimLog } from './log.ts';
import { commitEpoch, ExternalSender, fingerprint, groupIdOf, proposalsPayload, splitCommitWelcome } from './dave-mls.ts';

// davey is a native (napi-rs) CommonJS module with `const enum`s, which type stripping cannot inline.
const davey = createRequire(import.meta.url)('@snazzah/davey') as typeof import('@snazzah/davey');
const PROPOSALS_APPEND = 0;
const AUDIO = 0;
/** The Opus frame Discord clients send after a talk spurt; @discordjs/voice neither encrypts nor decrypts it. */
const SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);

/** How the group reaches a bot (through its voice WebSocket). */
export interface BotLink {
  readonly userId: string;
  /** Open socket, identified: it can receive ops and answer. */
  live(): boolean;
  sendBinary(op: number, payload: Buffer): void;
  sendJson(op: number, d: object): void;
}

export interface DaveGroupOptions {
  channelId: string;
  externalSender: ExternalSender;
  log: SimLog;
  /** Users in the channel now, for the recognised-user check of simulated members. */
  usersInChannel: () => string[];
  /** Delay before a simulated member sends its commit; a bot answers over loopback in about a millisecond. */
  simCommitDelayMs: number;
  /** Execute a transition after this long even if a member never said it was ready (as Discord does). */
  transitionTimeoutMs: number;
  /** Re-propose when no commit came for this long. */
  commitTimeoutMs: number;
  /** Fault knob: every transition uses id 0 (executed at once, no op 23/22), as for a group's re-initialisation. */
  zeroTransitionIds: boolean;
}

type Participant =
  | { kind: 'sim'; userId: string; generation: number; keyPackage: Buffer; session: DaveySession; pending: Pending | null }
  /** keyPackage null: connected with DAVE, key package not received yet. */
  | { kind: 'bot'; userId: string; generation: number; keyPackage: Buffer | null; link: BotLink };

type Pending = { kind: 'commit' | 'welcome'; message: Buffer; transitionId: number };

interface Change {
  epoch: bigint;
  removes: { userId: string; leaf: number }[];
  adds: { userId: string; generation: number }[];
  payload: Buffer;
  committed: boolean;
  transitionId: number;
  awaitingReady: Set<string>;
  timer: NodeJS.Timeout | null;
}

/** Faults a test can inject into the group. */
export interface GroupFaults {
  /** Users who are not sent the next commit (op 29): their group falls behind, as after a lost message. */
  skipCommitFor: Set<string>;
  /** Simulated members stop committing, so nobody new (a rejoining bot) gets into the group. */
  simsWithholdCommits: boolean;
}

export class DaveGroup {
  readonly channelId: string;
  readonly groupId: Buffer;
  readonly faults: GroupFaults = { skipCommitFor: new Set(), simsWithholdCommits: false };
  #o: DaveGroupOptions;
  #epoch = 0n;
  #leaves: (string | null)[] = [];
  /** userId → generation of the key package that is in the group */
  #members = new Map<string, number>();
  #participants = new Map<string, Participant>();
  #change: Change | null = null;
  #transitionIds = 0;
  #closed = false;
  #settledWaiters: (() => void)[] = [];

  constructor(options: DaveGroupOptions) {
    this.#o = options;
    this.channelId = options.channelId;
    this.groupId = groupIdOf(options.channelId);
  }

  get epoch(): bigint {
    return this.#epoch;
  }

  /** Members of the committed group, by leaf index order. */
  members(): string[] {
    return this.#leaves.filter((u): u is string => u !== null);
  }

  /** Whether a change is waiting for a commit or for members to be ready. */
  busy(): boolean {
    return this.#change !== null;
  }

  /**
   * Resolves once every participant is in the group with its current key package and no change is in flight:
   * from then on everyone can decrypt everyone. A client that talks before that is not heard, as on Discord.
   */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  #isSettled(): boolean {
    if (this.#change) return false;
    for (const p of this.#participants.values()) {
      if (this.#live(p) && (p.keyPackage === null || this.#members.get(p.userId) !== p.generation)) return false;
    }
    return true;
  }

  /** A simulated speaker joins the call: a fresh DAVE client with its own key package. */
  addSimulated(userId: string): void {
    const previous = this.#participants.get(userId);
    const session = new davey.DAVESession(1, userId, this.channelId);
    const keyPackage = session.getSerializedKeyPackage();
    session.setExternalSender(this.#o.externalSender.package());
    this.#participants.set(userId, {
      kind: 'sim',
      userId,
      generation: (previous?.generation ?? 0) + 1,
      keyPackage,
      session,
      pending: null,
    });
    this.#reconcile();
  }

  /**
   * A bot's voice session agreed on DAVE (op 4): the client made a new DAVE session, whose key package (op 26)
   * is on its way. Until it comes, what the bot held of the group is no use to it.
   */
  botConnected(link: BotLink): void {
    const previous = this.#participants.get(link.userId);
    this.#participants.set(link.userId, {
      kind: 'bot',
      userId: link.userId,
      generation: previous?.generation ?? 0,
      keyPackage: null,
      link,
    });
  }

  /** A bot's key package (op 26): first join, or a re-initialised session after op 31 or a new identify. */
  botKeyPackage(link: BotLink, keyPackage: Buffer): void {
    const previous = this.#participants.get(link.userId);
    this.#participants.set(link.userId, {
      kind: 'bot',
      userId: link.userId,
      generation: (previous?.generation ?? 0) + 1,
      keyPackage,
      link,
    });
    this.#log('key-package', { userId: link.userId, keyPackage: fingerprint(keyPackage) });
    this.#reconcile();
  }

  /** Someone left the call (or a bot's voice session ended). */
  remove(userId: string): void {
    if (!this.#participants.delete(userId)) return;
    this.#reconcile();
    this.#notifySettled();
  }

  /** A bot's op 28: its commit for the epoch, and the welcome for whoever it adds. */
  botCommit(userId: string, payload: Buffer): void {
    const { commit, welcome } = splitCommitWelcome(payload);
    this.#onCommit(userId, commit, welcome);
  }

  /** A bot's op 23. */
  botReady(userId: string, transitionId: number): void {
    const change = this.#change;
    if (!change?.committed || change.transitionId !== transitionId) return;
    change.awaitingReady.delete(userId);
    if (change.awaitingReady.size === 0) this.#execute(change);
  }

  /** A bot's op 31: it could not process a commit or welcome. Its re-initialised key package (op 26) follows. */
  botInvalid(userId: string, transitionId: number): void {
    this.#log('invalid-commit-welcome', { userId, transitionId });
    const change = this.#change;
    if (change?.committed) change.awaitingReady.delete(userId);
    // The client re-initialised its session, which forgets the external sender; its new key package follows.
    const participant = this.#participants.get(userId);
    if (participant?.kind === 'bot') {
      participant.keyPackage = null;
      participant.link.sendBinary(VoiceOpcodes.DaveMlsExternalSender, this.#o.externalSender.package());
    }
    if (change?.committed && change.awaitingReady.size === 0) this.#execute(change);
  }

  /** End-to-end encrypts a simulated speaker's Opus frame, or returns it as is while they are not in a ready group. */
  encrypt(userId: string, opus: Buffer): Buffer {
    const participant = this.#participants.get(userId);
    if (participant?.kind !== 'sim' || !participant.session.ready || opus.equals(SILENCE_FRAME)) return opus;
    return participant.session.encryptOpus(opus);
  }

  /** A simulated member decrypts another member's frame (tests: what the bot sends, if it ever did). */
  decryptAs(userId: string, fromUserId: string, frame: Buffer): Buffer {
    const participant = this.#participants.get(userId);
    if (participant?.kind !== 'sim') throw new Error(`discord-sim: ${userId} is not a simulated DAVE member`);
    return participant.session.decrypt(fromUserId, AUDIO, frame);
  }

  /** The voice privacy code every member of the group shows (from a simulated member's view), or '' if none. */
  privacyCode(): string {
    for (const participant of this.#participants.values()) {
      if (participant.kind === 'sim' && participant.session.ready && this.#members.get(participant.userId) === participant.generation) {
        return participant.session.voicePrivacyCode;
      }
    }
    return '';
  }

  close(): void {
    this.#closed = true;
    if (this.#change?.timer) clearTimeout(this.#change.timer);
    this.#change = null;
  }

  #live(participant: Participant): boolean {
    return participant.kind === 'sim' || participant.link.live();
  }

  /** Members whose committed key package is still the participant's current one: they hold the group state. */
  #holders(): Participant[] {
    return [...this.#members]
      .map(([userId, generation]) =>
        this.#participants.get(userId)?.generation === generation ? this.#participants.get(userId) : undefined,
      )
      .filter((p): p is Participant => p !== undefined && this.#live(p));
  }

  #reconcile(): void {
    if (this.#closed || this.#change) return;
    let holders = this.#holders();
    if (holders.length === 0) {
      // Nobody left who holds the group: it starts again from epoch 0 with a founder, alone in its own group.
      const founder = [...this.#participants.values()].find((p) => p.keyPackage !== null && this.#live(p));
      this.#leaves = [];
      this.#members.clear();
      this.#epoch = 0n;
      if (!founder) return;
      this.#leaves = [founder.userId];
      this.#members.set(founder.userId, founder.generation);
      this.#log('founded', { userId: founder.userId, epoch: 0 });
      holders = [founder];
    }
    const removes: Change['removes'] = [];
    for (const [userId, generation] of this.#members) {
      if (this.#participants.get(userId)?.generation !== generation) removes.push({ userId, leaf: this.#leaves.indexOf(userId) });
    }
    const adds: Change['adds'] = [];
    const addMessages: Buffer[] = [];
    for (const p of this.#participants.values()) {
      if (p.keyPackage === null || !this.#live(p) || this.#members.get(p.userId) === p.generation) continue;
      adds.push({ userId: p.userId, generation: p.generation });
      addMessages.push(this.#o.externalSender.addProposal(this.groupId, this.#epoch, p.keyPackage));
    }
    if (removes.length === 0 && adds.length === 0) return;
    const removeMessages = removes.map((r) => this.#o.externalSender.removeProposal(this.groupId, this.#epoch, r.leaf));
    const payload = proposalsPayload([...removeMessages, ...addMessages]);
    const change: Change = {
      epoch: this.#epoch,
      removes,
      adds,
      payload,
      committed: false,
      transitionId: 0,
      awaitingReady: new Set(),
      timer: null,
    };
    this.#change = change;
    change.timer = setTimeout(() => this.#retry(change), this.#o.commitTimeoutMs);
    this.#log('proposals', { epoch: Number(this.#epoch), removes: removes.map((r) => r.userId), adds: adds.map((a) => a.userId) });
    const recognised = this.#o.usersInChannel();
    for (const holder of holders) {
      if (holder.kind === 'bot') {
        holder.link.sendBinary(VoiceOpcodes.DaveMlsProposals, payload);
        continue;
      }
      // Every member processes the proposals (the winning commit refers to them); each also commits.
      let result: { commit?: Buffer | null; welcome?: Buffer | null };
      try {
        result = holder.session.processProposals(
          PROPOSALS_APPEND,
          payload.subarray(1),
          recognised.filter((id) => id !== holder.userId),
        );
      } catch (error) {
        this.#log('sim-failed', { userId: holder.userId, step: 'proposals', error: String(error) });
        continue;
      }
      const { commit, welcome } = result;
      if (commit && !this.faults.simsWithholdCommits)
        setTimeout(() => this.#onCommit(holder.userId, commit, welcome ?? null), this.#o.simCommitDelayMs);
    }
  }

  #retry(change: Change): void {
    if (this.#change !== change || change.committed) return;
    this.#log('commit-timeout', { epoch: Number(change.epoch) });
    this.#change = null;
    this.#reconcile();
  }

  #onCommit(fromUserId: string, commit: Buffer, welcome: Buffer | null): void {
    const change = this.#change;
    if (!change || change.committed) return; // a losing commit of an epoch already decided
    const framing = commitEpoch(commit);
    if (!framing || !framing.groupId.equals(this.groupId) || framing.epoch !== change.epoch || (change.adds.length > 0 && !welcome)) {
      this.#log('commit-rejected', { userId: fromUserId, epoch: framing ? Number(framing.epoch) : null });
      return;
    }
    change.committed = true;
    if (change.timer) clearTimeout(change.timer);
    const before = new Set(this.members());
    for (const { userId, leaf } of change.removes) {
      this.#leaves[leaf] = null;
      this.#members.delete(userId);
    }
    while (this.#leaves.length > 0 && this.#leaves.at(-1) === null) this.#leaves.pop();
    for (const { userId, generation } of change.adds) {
      const blank = this.#leaves.indexOf(null);
      if (blank >= 0) this.#leaves[blank] = userId;
      else this.#leaves.push(userId);
      this.#members.set(userId, generation);
    }
    this.#epoch += 1n;
    change.transitionId = this.#o.zeroTransitionIds ? 0 : this.#nextTransitionId();
    const id = Buffer.alloc(2);
    id.writeUInt16BE(change.transitionId);
    const added = new Set(change.adds.map((a) => a.userId));
    this.#log('commit', { userId: fromUserId, epoch: Number(this.#epoch), transitionId: change.transitionId, members: this.members() });

    for (const userId of this.members()) {
      const participant = this.#participants.get(userId);
      if (!participant || this.#members.get(userId) !== participant.generation) continue;
      const isNew = added.has(userId);
      if (!isNew && !before.has(userId)) continue;
      const message = isNew ? (welcome as Buffer) : commit;
      if (participant.kind === 'sim') {
        participant.pending = { kind: isNew ? 'welcome' : 'commit', message, transitionId: change.transitionId };
        continue;
      }
      if (!isNew && this.faults.skipCommitFor.delete(userId)) {
        this.#log('commit-withheld', { userId, transitionId: change.transitionId });
        continue;
      }
      participant.link.sendBinary(
        isNew ? VoiceOpcodes.DaveMlsWelcome : VoiceOpcodes.DaveMlsAnnounceCommitTransition,
        Buffer.concat([id, message]),
      );
      if (change.transitionId !== 0 && participant.link.live()) change.awaitingReady.add(userId);
    }
    if (change.transitionId === 0 || change.awaitingReady.size === 0) {
      this.#execute(change);
      return;
    }
    change.timer = setTimeout(() => this.#execute(change), this.#o.transitionTimeoutMs);
  }

  #execute(change: Change): void {
    if (this.#change !== change) return;
    if (change.timer) clearTimeout(change.timer);
    this.#change = null;
    for (const participant of this.#participants.values()) {
      if (participant.kind === 'bot') {
        if (change.transitionId !== 0 && this.#members.get(participant.userId) === participant.generation) {
          participant.link.sendJson(VoiceOpcodes.DaveExecuteTransition, {
            transition_id: change.transitionId,
          } satisfies VoiceDaveExecuteTransitionData);
        }
        continue;
      }
      this.#applyPending(participant);
    }
    this.#log('executed', { epoch: Number(this.#epoch), transitionId: change.transitionId, privacyCode: this.privacyCode() });
    this.#reconcile();
    this.#notifySettled();
  }

  #notifySettled(): void {
    if (this.#isSettled()) for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  #applyPending(participant: Extract<Participant, { kind: 'sim' }>): void {
    const pending = participant.pending;
    if (!pending) return;
    participant.pending = null;
    try {
      if (pending.kind === 'commit') participant.session.processCommit(pending.message);
      else participant.session.processWelcome(pending.message);
    } catch (error) {
      // A well-behaved client answers op 31 and starts again with a new key package; so does ours.
      this.#log('sim-failed', { userId: participant.userId, step: pending.kind, error: String(error) });
      this.addSimulated(participant.userId);
    }
  }

  #nextTransitionId(): number {
    this.#transitionIds = (this.#transitionIds % 0xffff) + 1;
    return this.#transitionIds;
  }

  #log(event: string, detail: Record<string, unknown>): void {
    this.#o.log.add({ kind: 'dave', event, detail: { channelId: this.channelId, ...detail } });
  }
}
