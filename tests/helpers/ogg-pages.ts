/**
 * Ogg files taken apart and put together page by page, for the suites that feed the reader damaged input:
 * pages split out of a file, header fields edited with the CRC made right again, and a paginator that lays
 * any packets over pages of any size (so packets span pages as other muxers make them do).
 */
import { buildOggPage, parseOggPage, resealOggPage } from '../../src/audio/ogg-page.ts';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { buildOpusHead, buildOpusTags } from '../../src/audio/opus-head.ts';

/** The pages of a file that is whole pages, each as its own bytes. */
export function pagesOf(bytes: Buffer): Buffer[] {
  const pages: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const parsed = parseOggPage(bytes, at);
    if (parsed.kind !== 'page') throw new Error(`no whole page at byte ${at}`);
    pages.push(Buffer.from(bytes.subarray(at, at + parsed.page.length)));
    at += parsed.page.length;
  }
  return pages;
}

/** A copy of `page` with header fields changed and a valid CRC. */
export function editPage(page: Buffer, edit: { granule?: bigint; serial?: number; sequence?: number; flags?: number }): Buffer {
  const copy = Buffer.from(page);
  if (edit.flags !== undefined) copy[5] = edit.flags;
  if (edit.granule !== undefined) copy.writeBigInt64LE(BigInt.asIntN(64, edit.granule), 6);
  if (edit.serial !== undefined) copy.writeUInt32LE(edit.serial >>> 0, 14);
  if (edit.sequence !== undefined) copy.writeUInt32LE(edit.sequence >>> 0, 18);
  return resealOggPage(copy);
}

export const granuleOf = (page: Buffer): bigint => page.readBigInt64LE(6);

/** A roomrec track of 20 ms `packets` in pages of `perPage` packets each, as a 1 s flush makes them at a lower packet rate. */
export async function writePagedTrack(path: string, packets: Buffer[], perPage: number): Promise<void> {
  const w = await OggOpusWriter.create({ path, serial: 3 });
  for (let i = 0; i < packets.length; i++) {
    w.writePacket(packets[i]!, 960);
    if (i % perPage === perPage - 1) await w.flush();
  }
  await w.close();
}

export interface StreamSpec {
  serial: number;
  preSkip: number;
  /** Granule position before the first packet (RFC 7845 §4.5): 0 for a stream that starts at its start. */
  origin: bigint;
  packets: { data: Buffer; samples: number }[];
  /** Lacing values per audio page, used in turn (and repeated); any positive sizes up to 255. */
  pageSegments: number[];
}

export interface BuiltStream {
  bytes: Buffer;
  /** Every page, headers included. */
  pages: Buffer[];
  /** Index in `pages` of the first audio page. */
  audioFrom: number;
  /** Per audio page: how many packets end on it. */
  completedPerPage: number[];
}

/**
 * An Ogg Opus stream of `spec.packets` laid over audio pages of the given sizes in lacing values, so a packet
 * may span pages (continued flags, granule -1 on a page where none ends) and a page may end mid-packet.
 */
export function buildStream(spec: StreamSpec): BuiltStream {
  const { serial } = spec;
  const pages = [
    buildOggPage({ serial, sequence: 0, granule: 0, bos: true, packets: [buildOpusHead({ channels: 2, preSkip: spec.preSkip })] }),
    buildOggPage({ serial, sequence: 1, granule: 0, packets: [buildOpusTags('test', {})] }),
  ];
  // Every lacing value of every packet, in order: a packet is a run of 255s ended by a value below 255.
  const segments: { packet: number; from: number; length: number; last: boolean }[] = [];
  spec.packets.forEach((p, packet) => {
    for (let from = 0; ; from += 255) {
      const length = Math.min(255, p.data.length - from);
      segments.push({ packet, from, length, last: length < 255 });
      if (length < 255) break;
    }
  });
  const completedPerPage: number[] = [];
  let granule = spec.origin;
  for (let at = 0, size = 0; at < segments.length; size++) {
    const onPage = segments.slice(at, at + spec.pageSegments[size % spec.pageSegments.length]!);
    at += onPage.length;
    const pieces: Buffer[] = [];
    let completed = 0;
    for (let i = 0; i < onPage.length;) {
      const packet = onPage[i]!.packet;
      let j = i;
      while (j < onPage.length && onPage[j]!.packet === packet) j++;
      const run = onPage.slice(i, j);
      const first = run[0]!;
      const end = run[run.length - 1]!;
      pieces.push(spec.packets[packet]!.data.subarray(first.from, end.from + end.length));
      if (end.last) {
        completed++;
        granule += BigInt(spec.packets[packet]!.samples);
      }
      i = j;
    }
    completedPerPage.push(completed);
    pages.push(
      buildOggPage({
        serial,
        sequence: pages.length,
        granule: completed > 0 ? granule : -1,
        continued: onPage[0]!.from > 0,
        lastIncomplete: !onPage[onPage.length - 1]!.last,
        eos: at >= segments.length,
        packets: pieces,
      }),
    );
  }
  return { bytes: Buffer.concat(pages), pages, audioFrom: 2, completedPerPage };
}

/**
 * Damaged copies of a whole track (headers on pages 0 and 1, at least six audio pages, EOS on the last), named
 * for what is wrong with them: the corpus the mix and finalise-track command lines are run against. Made from
 * the good file in the test, so no binary is kept in the repository.
 */
export function damagedTracks(good: Buffer): Record<string, Buffer> {
  const pages = pagesOf(good);
  if (pages.length < 8) throw new Error('the good track needs at least six audio pages');
  const last = pages.length - 1;
  const join = (...parts: Buffer[]) => Buffer.concat(parts);
  const withLast = (granule: bigint) => join(...pages.slice(0, last), editPage(pages[last]!, { granule }));
  const moved = (from: number, to: number) => {
    const copy = [...pages];
    const [page] = copy.splice(from, 1);
    copy.splice(to, 0, page!);
    return join(...copy);
  };
  const otherStream = pages.map((p) => editPage(p, { serial: 0xbeef }));
  const flipped = Buffer.from(good);
  flipped[pages[0]!.length + pages[1]!.length + pages[2]!.length + 40]! ^= 0xff;
  const invalidPacket = buildOggPage({
    serial: pages[3]!.readUInt32LE(14),
    sequence: 3,
    granule: granuleOf(pages[3]!),
    packets: [Buffer.from([0xfa])],
  });
  return {
    // Refused: the reader cannot tell what the audio is, or where it goes.
    'out-of-order': moved(last, 3),
    swapped: moved(5, 4),
    repeated: join(...pages.slice(0, 5), pages[4]!, ...pages.slice(5)),
    chained: join(good, ...otherStream),
    multiplexed: join(pages[0]!, otherStream[0]!, ...pages.slice(1)),
    flipped,
    'invalid-packet': join(...pages.slice(0, 3), invalidPacket, ...pages.slice(4)),
    'headers-cut': pages[0]!,
    'no-pages': join(Buffer.from('OggS'), Buffer.alloc(200)),
    // Read, with a warning: the packets say what the granule positions get wrong.
    'huge-granule': withLast(2n ** 62n),
    'hundred-hours': withLast(BigInt(100 * 3600 * 48_000)),
    'zero-granule': withLast(0n),
    'lost-page': join(...pages.slice(0, 5), ...pages.slice(6)),
    'start-offset': join(...pages.slice(0, 2), ...pages.slice(2).map((p) => editPage(p, { granule: granuleOf(p) + 3600n * 48_000n }))),
    'junk-after-end': join(good, Buffer.from('OggS'), Buffer.alloc(50, 7)),
  };
}
