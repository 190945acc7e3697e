// The store of prepared modules of the worker tests: plain JavaScript, imported by every worker. Its
// entries and the keys it was asked for live on globalThis, so that workers on one thread (the unit
// tests') and the test itself see one store whichever copy of this module each imported.

/** @type {{ entries: Map<string, Uint8Array>, asked: string[] }} */
const shared = (globalThis.__riSandboxPreparedStore ??= { entries: new Map(), asked: [] });

export default {
  /** @param {string} key */
  get(key) {
    shared.asked.push(key);
    return shared.entries.get(key);
  },
  /** @param {string} key @param {Uint8Array} artifact */
  set(key, artifact) {
    shared.entries.set(key, artifact);
  },
};
