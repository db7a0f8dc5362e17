// A real HTTP receiver for webhook tests: it keeps every request (headers and the raw body) and answers with
// what the test scripted: one answer per request, the last one repeated, or a function of the request's
// number; 'hang' never answers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './until.ts';

type Answer = number | 'hang';
type Received = { headers: IncomingHttpHeaders; body: string };

export type WebhookReceiver = {
  url: string;
  port: number;
  requests: Received[];
  /** The `n`th request (0-based), once it has arrived. */
  request(n: number): Promise<Received>;
  close(): Promise<void>;
};

export async function startWebhookReceiver(
  answers: readonly Answer[] | ((n: number) => Answer) = [200],
  port = 0,
): Promise<WebhookReceiver> {
  const answerTo = typeof answers === 'function' ? answers : (n: number) => answers[Math.min(n, answers.length - 1)] ?? 200;
  const requests: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = answerTo(requests.length);
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (answer !== 'hang') res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    port: bound,
    requests,
    request: (n) => until(() => requests[n], `webhook request ${n + 1}`),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nobody listens on (it was free a moment ago): a receiver that is down. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
