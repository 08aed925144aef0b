/** JSON.parse that answers undefined for text that is not JSON (provider bodies are not trusted). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
