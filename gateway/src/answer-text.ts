/**
 * The generated text of a complete answer in any client format: OpenAI chat (`choices[].message.content`,
 * tool call arguments), legacy completions (`choices[].text`), Responses (`output_text` / output items),
 * Anthropic Messages (`content[].text`, tool inputs).
 */
export function answerText(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const out: string[] = [];
  const r = body as {
    choices?: Array<{ message?: { content?: unknown; tool_calls?: Array<{ function?: { arguments?: unknown } }> }; text?: unknown }>;
    content?: Array<{ text?: unknown; input?: unknown }>;
    output?: Array<{ content?: Array<{ text?: unknown }>; arguments?: unknown }>;
  };
  for (const c of Array.isArray(r.choices) ? r.choices : []) {
    if (typeof c.message?.content === 'string') out.push(c.message.content);
    for (const t of c.message?.tool_calls ?? []) if (typeof t.function?.arguments === 'string') out.push(t.function.arguments);
    if (typeof c.text === 'string') out.push(c.text);
  }
  for (const b of Array.isArray(r.content) ? r.content : []) {
    if (typeof b.text === 'string') out.push(b.text);
    else if (b.input !== undefined) out.push(JSON.stringify(b.input));
  }
  for (const item of Array.isArray(r.output) ? r.output : []) {
    for (const c of item.content ?? []) if (typeof c.text === 'string') out.push(c.text);
    if (typeof item.arguments === 'string') out.push(item.arguments);
  }
  return out.join('');
}
