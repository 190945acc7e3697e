/** The version of `@ri-sandbox/sandbox`, from its package.json (only this field is bundled). */
import { version } from '../package.json';

export const LIBRARY_VERSION: string = version;
