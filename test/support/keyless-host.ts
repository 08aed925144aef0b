import { createServer, type IncomingHttpHeaders } from 'node:http';

/**
 * A self-hosted OpenAI-compatible host that takes calls without a key (vLLM without --api-key,
 * Ollama, TGI): every chat call gets the same answer, and the headers of each call are kept.
 */
export async function startKeylessHost(): Promise<{ url: string; seen: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'cmpl-1', object: 'chat.completion', created: 1, model: 'meta-llama/Llama-3-8B',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi from vllm' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
