/**
 * Reads an HTTP answer's body as a stream, stopping at a size cap: a hostile or broken endpoint
 * must not make the function buffer more than the cap, whatever `content-length` says.
 */
import { ResponseTooLargeError } from '../errors';

/** Default cap for any body the client reads: far above a registry's largest real answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * The body as UTF-8 text. Throws `ResponseTooLargeError` (naming `urlPath` and the cap) as soon as
 * more than `capBytes` arrived or were announced, and cancels the rest of the stream.
 */
export async function readCappedText(response: Response, capBytes: number, urlPath: string): Promise<string> {
  const announced = Number(response.headers.get('content-length'));
  if (Number.isFinite(announced) && announced > capBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(urlPath, capBytes);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > capBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(urlPath, capBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
