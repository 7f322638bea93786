/**
 * Newline-delimited JSON over a stream, as the manager's server and client
 * speak it. Each complete line that parses to an object is handed to
 * `onObject`; other lines are skipped. With `maxLine`, a partial line that
 * grows past it is dropped and `onOverflow` is called.
 * @internal
 */
export function onJsonLines(
  stream: NodeJS.ReadableStream,
  onObject: (value: object) => void,
  limits: { maxLine: number; onOverflow: () => void } | undefined = undefined,
): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      if (value !== null && typeof value === 'object') onObject(value);
    }
    if (limits !== undefined && pending.length > limits.maxLine) {
      pending = '';
      limits.onOverflow();
    }
  });
}
