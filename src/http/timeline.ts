// The download page's "who spoke when": a lane per speaker, drawn from where their track holds sound
// (src/audio/speech-spans.ts), the notes as marks above. Inline SVG, no script (the page's CSP allows none): a
// segment or a mark is a link that reloads the page with `?t=<seconds>#mix`, as a note's link does, once there is
// a player. Every shape has a <title> (a tooltip, and what a screen reader says), and a text list follows.
import type { Span } from '../audio/speech-spans.ts';
import { formatDuration, oneLine } from '../text/format.ts';
import { escapeHtml as escape } from './html.ts';

export type TimelineLane = {
  name: string;
  /** undefined: the track could not be read. */
  spans: readonly Span[] | undefined;
};

export type TimelineInput = {
  durationMs: number;
  lanes: readonly TimelineLane[];
  notes: readonly { at: number; text: string }[];
  /** Whether segments and marks seek the page's player (it has one once the mix is ready). */
  seekable: boolean;
};

const WIDTH = 600;
const MARKS = 14;
const LANE = 36;
const BAR = 14;
const AXIS = 16;

const seconds = (ms: number) => (ms / 1000).toFixed(3);
/** `m:ss.s`: a stretch of speech can be shorter than a second. */
const clock = (ms: number) => `${formatDuration(Math.floor(ms / 1000) * 1000)}.${Math.floor((ms % 1000) / 100)}`;
const tenth = (n: number) => Math.round(n * 10) / 10;

export function timelineSection(input: TimelineInput): string {
  const { durationMs, lanes, notes, seekable } = input;
  if (lanes.length === 0 || durationMs <= 0) return '';
  const x = (ms: number) => tenth((Math.min(Math.max(ms, 0), durationMs) / durationMs) * WIDTH);
  const linked = (ms: number, shape: string) => (seekable ? `<a href="?t=${seconds(ms)}#mix">${shape}</a>` : shape);
  const lanesBottom = MARKS + lanes.length * LANE;
  const height = lanesBottom + AXIS;
  const span = (s: Span) => `${clock(s.startMs)}–${clock(s.endMs)}`;

  const marks = notes.map((n) => {
    const at = x(n.at);
    const title = `<title>${escape(`${formatDuration(n.at)} ${oneLine(n.text)}`)}</title>`;
    const shape = `<g class="note">${title}<polygon points="${tenth(at - 5)},0 ${tenth(at + 5)},0 ${at},${MARKS - 2}" fill="#c2571a"/><rect x="${tenth(at - 0.5)}" y="${MARKS}" width="1" height="${lanesBottom - MARKS}" fill="#c2571a"/></g>`;
    return linked(n.at, shape);
  });
  const rows = lanes.map((lane, i) => {
    const top = MARKS + i * LANE;
    const name = oneLine(lane.name);
    const label = lane.spans === undefined ? `${name} (track unreadable)` : name;
    const segments = (lane.spans ?? []).map((s) => {
      const left = x(s.startMs);
      const width = Math.max(1, tenth(x(s.endMs) - left));
      const rect = `<rect class="speech" x="${left}" y="${top + 18}" width="${width}" height="${BAR}" fill="#2f6fc4"><title>${escape(`${name} ${span(s)}`)}</title></rect>`;
      return linked(s.startMs, rect);
    });
    return `<g class="lane"><text x="0" y="${top + 13}" font-size="13" fill="#222">${escape(label)}</text><rect x="0" y="${top + 18}" width="${WIDTH}" height="${BAR}" fill="#e8e8e8"/>${segments.join('')}</g>`;
  });
  const axis = `<text x="0" y="${height - 3}" font-size="11" fill="#666">0:00</text><text x="${WIDTH}" y="${height - 3}" font-size="11" fill="#666" text-anchor="end">${escape(formatDuration(durationMs))}</text>`;
  const svg = `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="group" aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg"><title id="timeline-title">Who spoke when: a lane per speaker, notes marked above</title>${rows.join('')}${marks.join('')}${axis}</svg>`;

  const list = lanes.map((lane) => {
    const name = escape(oneLine(lane.name));
    if (lane.spans === undefined) return `<li>${name}: the track could not be read</li>`;
    const spoken = lane.spans.reduce((sum, s) => sum + s.endMs - s.startMs, 0);
    const turns = lane.spans.map((s) => (seekable ? `<a href="?t=${seconds(s.startMs)}#mix">${escape(span(s))}</a>` : escape(span(s))));
    const summary = `${formatDuration(spoken)} of sound in ${lane.spans.length} ${lane.spans.length === 1 ? 'stretch' : 'stretches'}`;
    return `<li>${name}: ${escape(summary)}${turns.length > 0 ? `<br>${turns.join(', ')}` : ''}</li>`;
  });
  return `<h2>Who spoke when</h2>
${svg}
<details><summary>As text</summary>
<ul>
${list.join('\n')}
</ul>
</details>
`;
}
