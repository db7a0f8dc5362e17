// Property-based tests (fast-check) for scenario validation (discord-sim/scenario.ts, format in docs/scenario.md):
// any JSON value is judged without throwing anything but a ScenarioError that lists every problem with its field
// path; a valid scenario built from a model parses to itself with the documented defaults; one field made invalid
// is reported by its path; fields the format does not know are listed and change nothing else. A failure prints
// the seed and the smallest input fast-check found.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseScenario, ScenarioError, type Scenario, type ScenarioIssue } from '../../discord-sim/scenario.ts';

const RUNS = { numRuns: 200 };
const BASE_DIR = '/scenarios';

type Json = fc.JsonValue;
type Doc = Record<string, Json>;

/** What parseScenario made of a value: the scenario, or the issues of the ScenarioError it threw. */
function judge(input: unknown): { scenario: Scenario } | { issues: ScenarioIssue[] } {
  try {
    return { scenario: parseScenario(input, { source: 'prop.json', baseDir: BASE_DIR }) };
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    return { issues: error.issues };
  }
}

function issuesOf(input: unknown): ScenarioIssue[] {
  const result = judge(input);
  if ('scenario' in result) throw new Error(`expected issues, the scenario was valid: ${JSON.stringify(input)}`);
  return result.issues;
}

/** A field path as the validator writes it: `name`, `speakers[1].speakAt[0]`, `network.loss`, or '' for the whole file. */
const FIELD_PATH = /^$|^[A-Za-z]+(\[\d+\])*(\.[A-Za-z]+(\[\d+\])*)*$/;

/* ------------------------------------------ valid scenarios ------------------------------------------ */

const ROOT_FIELDS = ['name', 'host', 'speakers', 'commands', 'network', 'endAt'];
const SPEAKER_FIELDS = ['id', 'name', 'audio', 'joinAt', 'consentAt', 'withdrawAt', 'reuseAt', 'leaveAt', 'speakAt'];
const COMMAND_FIELDS = ['at', 'user', 'slash', 'dm', 'bot'];
const NETWORK_FIELDS = ['loss', 'duplicate', 'reorder', 'jitterMs', 'seed', 'dave'];
const DEFAULT_NETWORK = { loss: 0, duplicate: 0, reorder: 0, jitterMs: 0, seed: 1, dave: true };

const text = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }));
const audioFile = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9 _-]{1,10}$/), fc.constantFrom('.wav', '.WAV', '.wave', '.ogg', '.Ogg', '.opus', '.oga'))
  .map(([base, ext]) => base + ext);
/** An optional time as a file may leave it out or set it to null (both: never). */
const absence = fc.constantFrom('absent', 'null');

/**
 * One speaker's times in ticks from joining: everything a valid scenario needs holds by construction (consent
 * and speech while in the channel, a withdrawal after the consent).
 */
const speakerModel = fc.record({
  id: text,
  name: fc.option(text, { nil: undefined }),
  audio: audioFile,
  join: fc.nat(100),
  stay: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  consentAfter: fc.option(fc.nat(100), { nil: undefined }),
  withdrawAfter: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  speak: fc.array(fc.nat(100), { maxLength: 4 }),
  absent: absence,
  /** Whether fields at their default (joinAt 0, speakAt []) are written out. */
  writeDefaults: fc.boolean(),
});

const commandModel = fc.record({ at: fc.nat(300), user: fc.nat(), kind: fc.constantFrom('slash', 'dm'), text });

const probability = fc.double({ min: 0, max: 1, noNaN: true });
const networkModel = fc.record(
  {
    loss: probability,
    duplicate: probability,
    reorder: probability,
    jitterMs: fc.double({ min: 0, max: 1000, noNaN: true }),
    seed: fc.integer(),
    dave: fc.boolean(),
  },
  { requiredKeys: [] },
);

const scenarioModel = fc.record({
  name: text,
  host: fc.nat(),
  speakers: fc.uniqueArray(speakerModel, { minLength: 1, maxLength: 5, selector: (s) => s.id }),
  commands: fc.option(fc.array(commandModel, { maxLength: 4 }), { nil: undefined }),
  network: fc.option(networkModel, { nil: undefined }),
  endAfter: fc.integer({ min: 1, max: 50 }),
  /** Seconds per tick: every time is a whole number of ticks. */
  tick: fc.constantFrom(1, 0.5, 0.25, 0.1, 0.001),
});
type ScenarioModel = typeof scenarioModel extends fc.Arbitrary<infer T> ? T : never;

/** The scenario file a model describes, as JSON would give it. */
function scenarioDoc(m: ScenarioModel): Doc {
  const ticks: number[] = [];
  const seconds = (t: number): number => (ticks.push(t), t * m.tick);
  const ids = m.speakers.map((s) => s.id);
  const speakers = m.speakers.map((s) => {
    const leave = s.stay === undefined ? undefined : s.join + s.stay;
    // Inside the time in the channel.
    const within = (after: number) => s.join + (s.stay === undefined ? after : after % s.stay);
    const consent = s.consentAfter === undefined ? undefined : within(s.consentAfter);
    const withdraw = consent === undefined || s.withdrawAfter === undefined ? undefined : consent + s.withdrawAfter;
    const optional = (field: string, t: number | undefined) =>
      t !== undefined ? { [field]: seconds(t) } : s.absent === 'null' ? { [field]: null } : {};
    return {
      id: s.id,
      ...(s.name !== undefined ? { name: s.name } : {}),
      audio: s.audio,
      ...(s.join !== 0 || s.writeDefaults ? { joinAt: seconds(s.join) } : {}),
      ...optional('consentAt', consent),
      ...optional('withdrawAt', withdraw),
      ...optional('leaveAt', leave),
      ...(s.speak.length > 0 || s.writeDefaults ? { speakAt: s.speak.map((t) => seconds(within(t))) } : {}),
    };
  });
  const commands = m.commands?.map((c) => ({ at: seconds(c.at), user: ids[c.user % ids.length]!, [c.kind]: c.text }));
  // Speech starts before the end; everything else is at or before it.
  const endAt = (Math.max(0, ...ticks) + m.endAfter) * m.tick;
  return JSON.parse(
    JSON.stringify({
      name: m.name,
      host: ids[m.host % ids.length],
      speakers,
      ...(commands ? { commands } : {}),
      ...(m.network ? { network: m.network } : {}),
      endAt,
    }),
  ) as Doc;
}

/** The scenario docs/scenario.md says a valid file means: the file with its defaults filled in. */
function withDefaults(doc: Doc): Scenario {
  const speakers = doc.speakers as Doc[];
  return {
    ...(doc as unknown as Scenario),
    speakers: speakers.map((sp) => ({ joinAt: 0, speakAt: [], ...sp })) as unknown as Scenario['speakers'],
    commands: (doc.commands ?? []) as Scenario['commands'],
    network: { ...DEFAULT_NETWORK, ...(doc.network as object | undefined) },
    baseDir: BASE_DIR,
    unknownFields: [],
  };
}

/* ------------------------------------------- one bad field ------------------------------------------- */

interface Mutation {
  /** The field the validator must name. */
  path: string;
  /** What was done, for the failure message. */
  what: string;
  apply: (doc: Doc) => void;
}

const DELETE = Symbol('delete');
type Bad = Json | typeof DELETE;

/** Values no field of that kind accepts (DELETE: the field left out; Infinity: what JSON.parse makes of 1e999). */
const BAD = {
  requiredText: ['', 0, true, null, [], {}, DELETE],
  optionalText: ['', 7, false, null, ['x']],
  requiredSeconds: [-1, -0.001, Infinity, 'soon', true, null, [], {}, DELETE],
  defaultedSeconds: [-1, Infinity, 'soon', true, null, {}],
  nullableSeconds: [-0.5, Infinity, 'later', false, {}, [1]],
  probability: [-0.01, 1.01, 2, '0.5', null, true],
  nonNegative: [-1, Infinity, '3', null, {}],
  integer: [1.5, '1', null, true],
  boolean: ['true', 1, 0, null, {}],
  positive: [0, -1, Infinity, '30', null, true, DELETE],
  list: ['x', 5, {}, null, true],
  object: ['x', 5, [], null, true],
} satisfies Record<string, Bad[]>;

/** Every single-field change of `doc` that makes it invalid, with the path the validator must report. */
function mutations(doc: Doc): Mutation[] {
  const out: Mutation[] = [];
  const speakers = doc.speakers as Doc[];
  const commands = (doc.commands ?? []) as Doc[];
  const endAt = doc.endAt as number;
  const outsider = `not ${speakers.map((sp) => sp.id as string).join(' ')}`;
  /** `name` of the object `at` finds (at `path`) set to each bad value. */
  const field = (path: string, at: (d: Doc | Json[]) => Doc | Json[], name: string | number, bads: readonly Bad[]) => {
    const named = typeof name === 'number' ? `${path}[${name}]` : path ? `${path}.${name}` : name;
    for (const bad of bads) {
      out.push({
        path: named,
        what: `${named} ${bad === DELETE ? 'left out' : `= ${JSON.stringify(bad)}`}`,
        apply: (d) => {
          const target = at(d) as Record<string | number, Json>;
          if (bad === DELETE) delete target[name];
          else target[name] = bad;
        },
      });
    }
  };
  const root = (d: Doc | Json[]) => d;
  field('', root, 'name', BAD.requiredText);
  field('', root, 'host', [...BAD.requiredText, outsider]);
  field('', root, 'endAt', BAD.positive);
  field('', root, 'speakers', [...BAD.list, [], DELETE]);
  field('', root, 'commands', BAD.list);
  field('', root, 'network', BAD.object);
  const network = (d: Doc | Json[]) => ((d as Doc).network ??= {}) as Doc;
  for (const name of ['loss', 'duplicate', 'reorder']) field('network', network, name, BAD.probability);
  field('network', network, 'jitterMs', BAD.nonNegative);
  field('network', network, 'seed', BAD.integer);
  field('network', network, 'dave', BAD.boolean);

  const speakerList = (d: Doc | Json[]) => (d as Doc).speakers as Json[];
  speakers.forEach((sp, i) => {
    const path = `speakers[${i}]`;
    const at = (d: Doc | Json[]) => speakerList(d)[i] as Doc;
    field('speakers', speakerList, i, [5, 'alice', null]);
    field(path, at, 'id', BAD.requiredText);
    if (i > 0) field(path, at, 'id', [speakers[i - 1]!.id!]); // a duplicate id is reported on the second one
    field(path, at, 'name', BAD.optionalText);
    field(path, at, 'audio', [...BAD.requiredText, 'talk.mp3', 'talk', '.wav', 'dir/.ogg']);
    field(path, at, 'joinAt', [...BAD.defaultedSeconds, endAt + 1]);
    field(path, at, 'consentAt', [...BAD.nullableSeconds, endAt + 1]);
    // After the end, never consented to (a reaction can only be withdrawn once added), or at the consent itself.
    field(path, at, 'withdrawAt', [...BAD.nullableSeconds, endAt + 1, sp.consentAt ?? endAt]);
    field(path, at, 'leaveAt', [...BAD.nullableSeconds, endAt + 1, sp.joinAt ?? 0]);
    field(path, at, 'speakAt', BAD.list);
    const speakAt = (d: Doc | Json[]) => (at(d).speakAt ??= []) as Json[];
    ((sp.speakAt ?? [0]) as Json[]).forEach((_t, k) => field(`${path}.speakAt`, speakAt, k, [-1, Infinity, 'now', null, endAt]));
  });

  const commandList = (d: Doc | Json[]) => (d as Doc).commands as Json[];
  commands.forEach((c, j) => {
    const path = `commands[${j}]`;
    const at = (d: Doc | Json[]) => commandList(d)[j] as Doc;
    field('commands', commandList, j, ['x', 5, null, []]);
    field(path, at, 'at', [...BAD.requiredSeconds, endAt + 1]);
    field(path, at, 'user', [...BAD.requiredText, outsider]);
    const kind = 'slash' in c ? 'slash' : 'dm';
    field(path, at, kind, ['', 3, null, false]);
    // Neither, or both, of slash and dm: the command as a whole.
    out.push({ path, what: `${path} without ${kind}`, apply: (d) => delete at(d)[kind] });
    out.push({ path, what: `${path} with both slash and dm`, apply: (d) => (at(d)[kind === 'slash' ? 'dm' : 'slash'] = 'download') });
  });
  return out;
}

/* ----------------------------------------- anything at all ----------------------------------------- */

/** Numbers a scenario file can hold: JSON.parse('1e999') is Infinity. */
const number = fc.oneof(fc.nat(100), fc.double({ noNaN: true }), fc.constantFrom(0, -0, -1, Infinity, -Infinity));
const anything: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), number);
/** A value of the right shape about half the time, anything otherwise. */
const nearly = (valid: fc.Arbitrary<unknown>) => fc.oneof(valid, anything);
/** Few ids, so hosts, users and duplicates refer to each other. */
const someId = fc.oneof(fc.constantFrom('alice', 'bob', 'carol', ''), text);
const shapedSpeaker = fc.record(
  {
    id: nearly(someId),
    name: nearly(text),
    audio: nearly(fc.oneof(audioFile, text)),
    joinAt: nearly(number),
    consentAt: nearly(fc.oneof(number, fc.constant(null))),
    withdrawAt: nearly(fc.oneof(number, fc.constant(null))),
    leaveAt: nearly(fc.oneof(number, fc.constant(null))),
    speakAt: nearly(fc.array(nearly(number), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const shapedCommand = fc.record({ at: nearly(number), user: nearly(someId), slash: nearly(text), dm: nearly(text) }, { requiredKeys: [] });
const shapedNetwork = fc.record(
  {
    loss: nearly(number),
    duplicate: nearly(number),
    reorder: nearly(number),
    jitterMs: nearly(number),
    seed: nearly(number),
    dave: anything,
  },
  { requiredKeys: [] },
);
/** Scenario-like values: the known fields, each right, wrong or missing, down to every speaker and command. */
const shapedScenario = fc.record(
  {
    name: nearly(text),
    host: nearly(someId),
    speakers: nearly(fc.array(nearly(shapedSpeaker), { maxLength: 4 })),
    commands: nearly(fc.array(nearly(shapedCommand), { maxLength: 3 })),
    network: nearly(shapedNetwork),
    endAt: nearly(number),
  },
  { requiredKeys: [] },
);

/** Keys this version does not know, some of them names a newer format uses or that a plain object inherits. */
function unknownKey(known: readonly string[]): fc.Arbitrary<string> {
  const tricky = fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'consentat',
    'JoinAt',
    'onStageAt',
    'channel',
    'bot',
  );
  return fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), tricky).filter((k) => !known.includes(k));
}
/** An object of unknown fields (own properties, `__proto__` included). */
const extras = (known: readonly string[]) =>
  fc.array(fc.tuple(unknownKey(known), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }).map((entries) => Object.fromEntries(entries));
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

describe('scenario validation properties', () => {
  test('a valid scenario built from any model validates with no issue and gets the documented defaults', () => {
    fc.assert(
      fc.property(scenarioModel, (m) => {
        const doc = scenarioDoc(m);
        const result = judge(doc);
        expect(result).toEqual({ scenario: withDefaults(doc) });
        // What it parsed to is itself a valid scenario, with nothing left to fill in.
        const { baseDir: _b, unknownFields: _u, ...parsed } = (result as { scenario: Scenario }).scenario;
        expect(judge(JSON.parse(JSON.stringify(parsed)))).toEqual(result);
      }),
      RUNS,
    );
  });

  test('one field of a valid scenario made invalid: an issue names that field (every such change, each scenario)', () => {
    fc.assert(
      fc.property(scenarioModel, (m) => {
        const doc = scenarioDoc(m);
        for (const mutation of mutations(doc)) {
          const changed = structuredClone(doc);
          mutation.apply(changed);
          const paths = issuesOf(changed).map((i) => i.path);
          expect(paths, `${mutation.what}: ${JSON.stringify(changed)}`).toContain(mutation.path);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('any JSON value at all: no exception but a ScenarioError, whose every issue has a field path and a message', () => {
    fc.assert(
      fc.property(fc.oneof(anything, shapedScenario), (input) => {
        const result = judge(input);
        if ('scenario' in result) return;
        expect(result.issues.length).toBeGreaterThan(0);
        for (const issue of result.issues) {
          expect(issue.path).toMatch(FIELD_PATH);
          expect(typeof issue.message === 'string' && issue.message.length > 0).toBe(true);
          // A file that is an object has its problems in its fields.
          if (isRecord(input)) expect(ROOT_FIELDS).toContain(/^[A-Za-z]+/.exec(issue.path)?.[0]);
        }
        let error: unknown;
        try {
          parseScenario(input, { source: 'prop.json' });
        } catch (e) {
          error = e;
        }
        const message = (error as Error).message;
        expect(message.startsWith('prop.json: invalid scenario\n')).toBe(true);
        for (const issue of result.issues) expect(message).toContain(`  ${issue.path || '(root)'}: ${issue.message}`);
      }),
      RUNS,
    );
  });

  test('unknown fields anywhere in a valid scenario are listed, never rejected, and change nothing else', () => {
    const perEntry = (n: number, known: readonly string[]) => fc.array(extras(known), { minLength: n, maxLength: n });
    const model = scenarioModel.chain((m) =>
      fc.record({
        m: fc.constant(m),
        root: extras(ROOT_FIELDS),
        network: extras(NETWORK_FIELDS),
        speakers: perEntry(m.speakers.length, SPEAKER_FIELDS),
        commands: perEntry(m.commands?.length ?? 0, COMMAND_FIELDS),
      }),
    );
    fc.assert(
      fc.property(model, ({ m, root, network, speakers, commands }) => {
        const doc = scenarioDoc(m);
        const withExtras: Doc = {
          ...doc,
          ...root,
          network: { ...(doc.network as Doc | undefined), ...network },
          speakers: (doc.speakers as Doc[]).map((sp, i) => ({ ...sp, ...speakers[i] })),
          ...(doc.commands ? { commands: (doc.commands as Doc[]).map((c, j) => ({ ...c, ...commands[j] })) } : {}),
        };
        const listed = [
          ...Object.keys(root),
          ...Object.keys(network).map((k) => `network.${k}`),
          ...speakers.flatMap((x, i) => Object.keys(x).map((k) => `speakers[${i}].${k}`)),
          ...commands.flatMap((x, j) => Object.keys(x).map((k) => `commands[${j}].${k}`)),
        ];
        const result = judge(withExtras);
        expect('scenario' in result).toBe(true);
        const { unknownFields, ...scenario } = (result as { scenario: Scenario }).scenario;
        expect([...unknownFields].sort()).toEqual(listed.sort());
        expect({ ...scenario, unknownFields: [] }).toEqual(withDefaults({ ...doc, network: doc.network ?? {} }));
      }),
      RUNS,
    );
  });

  test('unknown fields added to any scenario-like value, valid or not, change nothing but the list of them', () => {
    const input = fc.oneof(shapedScenario, scenarioModel.map(scenarioDoc));
    fc.assert(
      fc.property(input, extras(ROOT_FIELDS), extras(NETWORK_FIELDS), (input, root, network) => {
        const withExtras = { ...input, ...root, ...(isRecord(input.network) ? { network: { ...input.network, ...network } } : {}) };
        const plain = judge(input);
        const extended = judge(withExtras);
        if ('issues' in plain) {
          expect(extended).toEqual(plain);
          return;
        }
        expect('scenario' in extended).toBe(true);
        const { unknownFields, ...scenario } = (extended as { scenario: Scenario }).scenario;
        const { unknownFields: before, ...expected } = plain.scenario;
        expect(scenario).toEqual(expected);
        const added = [...Object.keys(root), ...(isRecord(input.network) ? Object.keys(network).map((k) => `network.${k}`) : [])];
        expect([...unknownFields].sort()).toEqual([...before, ...added].sort());
      }),
      RUNS,
    );
  });
});
