// A strict reader of the ID3v2.3 chapter tags we write (ID3v2.3.0 §3, "ID3v2 Chapter Frame Addendum" 1.0),
// written from the specifications, not from src/audio/id3-chapters.ts: every size must add up exactly.
type ParsedChapter = { id: string; startMs: number; endMs: number; startOffset: number; endOffset: number; title: string };
export type ParsedId3 = {
  version: number;
  tagBytes: number;
  toc: { id: string; flags: number; children: string[] };
  chapters: ParsedChapter[];
};

export function parseId3Chapters(file: Buffer): ParsedId3 {
  if (file.toString('latin1', 0, 3) !== 'ID3') throw new Error('no ID3 header');
  const version = file[3]!;
  if (file[4] !== 0 || file[5] !== 0) throw new Error('unexpected revision/flags');
  for (let i = 6; i < 10; i++) if (file[i]! & 0x80) throw new Error('size not syncsafe');
  const size = (file[6]! << 21) | (file[7]! << 14) | (file[8]! << 7) | file[9]!;
  const frames = readFrames(file.subarray(10, 10 + size));
  const tocFrames = frames.filter((f) => f.id === 'CTOC');
  if (tocFrames.length !== 1) throw new Error(`${tocFrames.length} CTOC frames`);
  return {
    version,
    tagBytes: 10 + size,
    toc: parseToc(tocFrames[0]!.body),
    chapters: frames.filter((f) => f.id === 'CHAP').map((f) => parseChap(f.body)),
  };
}

function readFrames(bytes: Buffer): { id: string; body: Buffer }[] {
  const out: { id: string; body: Buffer }[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] === 0) break; // padding
    if (at + 10 > bytes.length) throw new Error('truncated frame header');
    const id = bytes.toString('latin1', at, at + 4);
    if (!/^[A-Z0-9]{4}$/.test(id)) throw new Error(`bad frame id ${JSON.stringify(id)}`);
    const size = bytes.readUInt32BE(at + 4);
    if (bytes.readUInt16BE(at + 8) !== 0) throw new Error('frame flags set');
    if (at + 10 + size > bytes.length) throw new Error(`frame ${id} overruns its container`);
    out.push({ id, body: bytes.subarray(at + 10, at + 10 + size) });
    at += 10 + size;
  }
  return out;
}

function terminated(bytes: Buffer, at: number): { text: string; next: number } {
  const end = bytes.indexOf(0, at);
  if (end < 0) throw new Error('unterminated string');
  return { text: bytes.toString('latin1', at, end), next: end + 1 };
}

function parseToc(body: Buffer): ParsedId3['toc'] {
  const id = terminated(body, 0);
  const flags = body[id.next]!;
  const count = body[id.next + 1]!;
  const children: string[] = [];
  let at = id.next + 2;
  for (let i = 0; i < count; i++) {
    const child = terminated(body, at);
    children.push(child.text);
    at = child.next;
  }
  if (at !== body.length) throw new Error('CTOC has sub-frames or trailing bytes');
  return { id: id.text, flags, children };
}

function parseChap(body: Buffer): ParsedChapter {
  const id = terminated(body, 0);
  const t = id.next;
  const sub = readFrames(body.subarray(t + 16));
  const tit2 = sub.filter((f) => f.id === 'TIT2');
  if (sub.length !== 1 || tit2.length !== 1) throw new Error('CHAP must hold exactly one TIT2');
  return {
    id: id.text,
    startMs: body.readUInt32BE(t),
    endMs: body.readUInt32BE(t + 4),
    startOffset: body.readUInt32BE(t + 8),
    endOffset: body.readUInt32BE(t + 12),
    title: textFrame(tit2[0]!.body),
  };
}

function textFrame(body: Buffer): string {
  if (body[0] === 0) return body.toString('latin1', 1);
  if (body[0] !== 1) throw new Error(`text encoding ${body[0]} is not v2.3's UTF-16`);
  if (body[1] !== 0xff || body[2] !== 0xfe) throw new Error('UTF-16 text without a little-endian BOM');
  if ((body.length - 3) % 2 !== 0) throw new Error('odd UTF-16 length');
  return body.toString('utf16le', 3);
}
