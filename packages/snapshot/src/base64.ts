/** The bytes of the base64 `text` (a kernel's module, as the build scripts write them). */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
