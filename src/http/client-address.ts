// Who is asking, for the per-address limit on refused links and for the logs. Pure.
//
// The socket's peer is the client unless a reverse proxy forwards the request: then every request comes from the
// proxy, and the client is the address the proxy appended to X-Forwarded-For. Only the last entry is the
// proxy's own word; anything before it came from the client and can be made up. So the header is read only when
// the operator says the server is behind a proxy (HTTP_TRUST_PROXY), and only its last entry.
import { isIP, isIPv6 } from 'node:net';

export function clientAddress(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, trustProxy: boolean): string {
  const peer = socketAddress ?? 'unknown';
  if (!trustProxy || forwardedFor === undefined) return peer;
  // Node joins repeated X-Forwarded-For headers with ', ', so the last entry is the same either way.
  const joined = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = joined.split(',').at(-1)?.trim() ?? '';
  return isIP(last) === 0 ? peer : last;
}

/**
 * The key an address is limited under. One IPv6 subscriber is usually given a whole /64 and can pick any address
 * in it, so IPv6 addresses are counted by their /64; an IPv4-mapped IPv6 address (what a dual-stack socket
 * reports for an IPv4 client) is its IPv4 address.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) is local detail
  if (!isIPv6(bare)) return bare;
  const groups = hextets(bare);
  // ::ffff:a.b.c.d, however spelled (::ffff:102:304 too), is the IPv4 address a.b.c.d.
  if (groups.slice(0, 6).join(':') === '0:0:0:0:0:ffff') {
    return groups
      .slice(6)
      .flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff])
      .join('.');
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function hextets(address: string): string[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const spelled = dotted
    ? address.slice(0, dotted.index) +
      [Number(dotted[1]) * 256 + Number(dotted[2]), Number(dotted[3]) * 256 + Number(dotted[4])].map((n) => n.toString(16)).join(':')
    : address;
  const [head = '', tail] = spelled.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => parseInt(group, 16).toString(16));
}
