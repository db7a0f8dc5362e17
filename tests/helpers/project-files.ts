// Strict readers of the editor projects' formats, for tests: Audacity's list of files (.lof) and REAPER's chunk
// format (.rpp).
import { expect } from 'vitest';

/**
 * A .lof as Audacity's importer reads it (ImportLOF.cpp): one command per line; `#` as a word of its own starts a
 * comment; `file "<path>" [offset <seconds>]` with the path between the line's first two `"`, its words
 * separated by single spaces (the importer steps over them word by word).
 */
export function parseLof(text: string): { file: string; offset: number }[] {
  expect(text.endsWith('\n')).toBe(true);
  const files = [];
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '#' || line.startsWith('# ')) continue;
    const match = /^file "([^"]+)" offset (-?\d+(?:\.\d+)?)$/.exec(line);
    if (!match) throw new Error(`not a LOF line: ${JSON.stringify(line)}`);
    const file = match[1] ?? '';
    expect(file).not.toMatch(/ {2}|^ | $/);
    files.push({ file, offset: Number(match[2]) });
  }
  return files;
}

type RppLine = { token: string; params: string[] };
type RppChunk = RppLine & { children: (RppChunk | RppLine)[] };

/**
 * REAPER's project text: `<TAG params…` opens a chunk, a line holding only `>` closes it, any other line is a
 * token and its parameters. Parameters are separated by spaces; one that starts with `"`, `'` or `` ` `` runs to
 * the next of the same character, which must end it (no escapes). Chunks must balance and there is one root.
 */
function parseRpp(text: string): RppChunk {
  expect(text.endsWith('\n')).toBe(true);
  const stack: RppChunk[] = [];
  let root: RppChunk | undefined;
  for (const raw of text.slice(0, -1).split('\n')) {
    const line = raw.trim();
    if (line === '>') {
      const done = stack.pop();
      if (!done) throw new Error('a ">" closes no chunk');
      if (stack.length === 0) root = done;
      continue;
    }
    if (root) throw new Error(`text after the project's end: ${JSON.stringify(line)}`);
    const opens = line.startsWith('<');
    const [token = '', ...params] = tokens(opens ? line.slice(1) : line);
    expect(token).toMatch(/^[A-Z_0-9]+$/);
    if (opens) {
      const chunk: RppChunk = { token, params, children: [] };
      stack.at(-1)?.children.push(chunk);
      stack.push(chunk);
    } else {
      const parent = stack.at(-1);
      if (!parent) throw new Error(`a line outside any chunk: ${JSON.stringify(line)}`);
      parent.children.push({ token, params });
    }
  }
  if (!root || stack.length > 0) throw new Error('unbalanced chunks');
  return root;
}

function tokens(line: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < line.length) {
    const c = line[at] ?? '';
    if (c === ' ') {
      at++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const end = line.indexOf(c, at + 1);
      if (end === -1) throw new Error(`unterminated string in ${JSON.stringify(line)}`);
      const next = line[end + 1];
      if (next !== undefined && next !== ' ') throw new Error(`a quote must end its parameter: ${JSON.stringify(line)}`);
      out.push(line.slice(at + 1, end));
      at = end + 1;
    } else {
      const end = line.indexOf(' ', at);
      out.push(line.slice(at, end === -1 ? undefined : end));
      at = end === -1 ? line.length : end;
    }
  }
  return out;
}

function chunks(chunk: RppChunk, token: string): RppChunk[] {
  return chunk.children.filter((c): c is RppChunk => 'children' in c && c.token === token);
}

function values(chunk: RppChunk, token: string): string[][] {
  return chunk.children.filter((c) => !('children' in c) && c.token === token).map((c) => c.params);
}

/** Each track's name, item position and length (seconds) and source; the markers' times (ms) and names. */
export function readRpp(text: string) {
  const project = parseRpp(text);
  expect(project.token).toBe('REAPER_PROJECT');
  const tracks = chunks(project, 'TRACK').map((track) => {
    const [item, ...more] = chunks(track, 'ITEM');
    expect(more).toEqual([]);
    if (!item) throw new Error('a track without an item');
    const [source] = chunks(item, 'SOURCE');
    return {
      name: values(track, 'NAME')[0]?.[0],
      position: Number(values(item, 'POSITION')[0]?.[0]),
      length: Number(values(item, 'LENGTH')[0]?.[0]),
      source: source?.params[0],
      file: source && values(source, 'FILE')[0]?.[0],
    };
  });
  const markers = values(project, 'MARKER').map(([n, at, name, flags]) => ({ n: Number(n), at: Number(at) * 1000, name, flags }));
  return { tracks, markers };
}
