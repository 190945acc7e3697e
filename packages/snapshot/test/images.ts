/** Test helper: instance images that outlive the instance they were captured from. */
import type { InstanceImage } from '../src/state';

/** `image` with its memory chunks copied (capture returns views of the live memory). */
export function frozen(image: InstanceImage): InstanceImage {
  return {
    ...image,
    memory: image.memory && {
      pages: image.memory.pages,
      chunks: image.memory.chunks.map((c) => ({ offset: c.offset, bytes: c.bytes.slice() })),
    },
  };
}
