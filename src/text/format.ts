// Human-readable times, sizes and codes shared by the download page, the receipt and the bot. Always UTC: the
// server cannot know the reader's zone, and the page runs no script to find out.

export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Whole seconds elapsed, as a player's clock shows them: 9.6 s is 0:09, so the page and its players agree. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const mmss = `${String(minutes).padStart(hours > 0 ? 2 : 1, '0')}:${String(seconds).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Display names come from Discord users: keep them on one line and free of control characters. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

/**
 * A DAVE voice privacy code as Discord clients show it: 30 digits in groups of five (`12345 67890 …`), so people
 * can read it out and compare it with what their own client shows.
 */
export function formatPrivacyCode(code: string): string {
  return (code.replace(/\s+/g, '').match(/.{1,5}/g) ?? []).join(' ');
}
