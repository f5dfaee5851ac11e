import { resolve } from 'node:path';

/** directory of the recording stand-ins (crictl); put it first on PATH to use them */
export const STAND_IN_BIN_DIR = resolve(__dirname, 'bin');
