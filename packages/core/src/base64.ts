/**
 * The bytes of the base64 `text`: a WebAssembly kernel's module as the build
 * scripts embed it, or bytes that travelled as text. Through the platform's
 * `atob`, in browsers, Node, Bun and Deno alike.
 * Throws the `DOMException` (`InvalidCharacterError`) `atob` throws on text
 * that is not base64.
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
