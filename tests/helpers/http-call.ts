// Raw HTTP for the download server's suites.
import { request } from 'node:http';

export type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** Raw HTTP over loopback: the path goes on the wire exactly as given (fetch would normalise `..` away). */
export function call(port: number, target: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, method: init.method ?? 'GET', headers: init.headers });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
