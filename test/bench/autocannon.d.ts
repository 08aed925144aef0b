/**
 * The part of autocannon 8's API the benchmark uses (the package ships no types and
 * @types/autocannon is not installed). Shapes follow its README, "API" and "Results":
 * https://github.com/mcollina/autocannon#api
 */
declare module 'autocannon' {
  interface AutocannonOptions {
    url: string;
    connections?: number;
    /** seconds */
    duration?: number;
    /** seconds before a request counts as a timeout */
    timeout?: number;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    pipelining?: number;
    title?: string;
  }

  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
  }

  interface AutocannonResult {
    title?: string;
    url: string;
    /** seconds */
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    '2xx': number;
    '4xx': number;
    '5xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
  }

  interface Instance extends PromiseLike<AutocannonResult> {
    stop(): void;
    on(event: 'reqError', listener: (err: Error) => void): this;
    /** every completed response: status code, bytes, response time in ms */
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
  }

  function autocannon(opts: AutocannonOptions): Instance;
  export default autocannon;
  export type { AutocannonOptions, AutocannonResult, Instance };
}
