// Content-Disposition (RFC 6266) with a filename that is safe in any browser and on any file system.
// `filename=` carries an ASCII fallback; `filename*=` (RFC 8187 ext-value) carries the real UTF-8 name, so a
// speaker called "Zoë" or "東京" still gets a recognisable file.

// Not allowed in filenames on common systems, or meaningful in the header itself.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a header
const UNSAFE = /[\u0000-\u001f\u007f"*/:<>?\\|]/g;

/** A name that is usable as a file name: no separators, no control characters, not "." or "..". */
export function safeFileName(name: string, fallback = 'file'): string {
  const cleaned = name.normalize('NFC').replace(UNSAFE, '_').replace(/\s+/g, ' ').trim().replace(/^\.+/, '');
  return cleaned === '' ? fallback : cleaned.slice(0, 150);
}

export function contentDisposition(kind: 'inline' | 'attachment', fileName: string): string {
  const name = safeFileName(fileName);
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/[%;,]/g, '_');
  if (ascii === name) return `${kind}; filename="${name}"`;
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

// RFC 8187 §3.2.1 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
